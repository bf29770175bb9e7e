"""Outbound HTTP for harvesting, against a real server on 127.0.0.1: only allowed hosts and public addresses,
every redirect checked again, bodies cut at the size cap and the deadline, and the connection made to the
address that was checked."""
import socket
import time

import pytest
from harvest_server import CannedServer, drip, send

from plugins.sync_provincial import safe_http
from plugins.sync_provincial.safe_http import OutboundRefused


@pytest.fixture
def app_config():
    return {"HARVEST_ALLOW_PRIVATE_HOSTS": ["127.0.0.1"], "HARVEST_MAX_BYTES": 10_000,
            "HARVEST_TOTAL_SECONDS": 1, "HARVEST_READ_TIMEOUT": 5}


@pytest.fixture
def server():
    canned = CannedServer()
    yield canned
    canned.stop()


def test_an_allowed_host_answers(app, server):
    server.reply("/ok", b"<ok/>")
    answer = safe_http.get(server.url("/ok"), params={"verb": "Identify"})
    assert answer.body == b"<ok/>" and answer.status == 200
    assert server.requests[0][1] == {"verb": "Identify"}


def test_loopback_is_refused_unless_the_district_allows_it(app, server):
    server.reply("/ok", b"<ok/>")
    app.config["HARVEST_ALLOW_PRIVATE_HOSTS"] = []
    with pytest.raises(OutboundRefused, match="拒绝访问内网、本机或保留地址"):
        safe_http.get(server.url("/ok"))
    assert server.requests == []  # refused before connecting


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/", "http:///x"])
def test_only_http_and_https(app, url):
    with pytest.raises(OutboundRefused, match="只能访问 http:// 或 https://"):
        safe_http.get(url)


def test_the_host_allowlist(app, server):
    server.reply("/ok", b"<ok/>")
    app.config["HARVEST_ALLOWED_HOSTS"] = ["oai.example.org"]
    with pytest.raises(OutboundRefused, match="不在允许采集的主机名单中"):
        safe_http.get(server.url("/ok"))
    app.config["HARVEST_ALLOWED_HOSTS"] = ["127.0.0.1"]
    assert safe_http.get(server.url("/ok")).body == b"<ok/>"


@pytest.mark.parametrize("target", ["http://127.0.0.2:{port}/ok", "http://10.1.2.3/oai", "http://192.168.0.1/",
                                    "http://169.254.169.254/latest/meta-data/", "http://[::1]:{port}/ok",
                                    "http://[::ffff:127.0.0.2]:{port}/ok", "http://0.0.0.0:{port}/ok",
                                    "http://224.0.0.1/"])
def test_a_redirect_into_the_network_is_refused(app, server, target):
    server.reply("/ok", b"<ok/>")
    server.reply("/hop", b"", status=302, headers={"Location": target.format(port=server.port)})
    started = time.monotonic()
    with pytest.raises(OutboundRefused, match="拒绝访问内网、本机或保留地址"):
        safe_http.get(server.url("/hop"))
    assert [path for path, _query, _headers in server.requests] == ["/hop"]
    assert time.monotonic() - started < 1  # refused before any connection, not timed out trying


def test_a_callers_headers_follow_a_redirect_only_on_the_same_host(app, server):
    other = CannedServer()  # another port: another host as far as a token is concerned
    try:
        other.reply("/landing", b"<ok/>")
        server.reply("/landing", b"<ok/>")
        server.reply("/here", b"", status=307, headers={"Location": "/landing"})
        server.reply("/away", b"", status=307, headers={"Location": other.url("/landing")})
        for path in ("/here", "/away"):
            safe_http.get(server.url(path), headers={"Authorization": "Bearer district-token"})
        assert [headers.get("Authorization") for _path, _query, headers in server.requests] == \
            ["Bearer district-token"] * 3  # /here, /landing, /away
        assert [headers.get("Authorization") for _path, _query, headers in other.requests] == [None]
    finally:
        other.stop()


def test_redirects_are_followed_to_a_limit(app, server):
    server.reply("/ok", b"<ok/>")
    for hop in range(7):
        server.reply(f"/r{hop}", b"", status=301, headers={"Location": f"/r{hop + 1}"})
    server.reply("/r7", b"", status=302, headers={"Location": "/ok"})
    server.reply("/short", b"", status=307, headers={"Location": "/r5"})
    assert safe_http.get(server.url("/short")).url == server.url("/ok")  # /short, r5, r6, r7, ok: 4 redirects
    with pytest.raises(OutboundRefused, match="重定向超过 5 次"):
        safe_http.get(server.url("/r0"))


def test_an_oversized_body_is_cut(app, server):
    server.reply("/declared", b"x" * 10_001)
    server.routes["/undeclared"] = lambda handler, query: send(handler, b"x" * 50_000, length=False)
    for path in ("/declared", "/undeclared"):
        with pytest.raises(OutboundRefused, match="超过 10000 字节"):
            safe_http.get(server.url(path))
    server.reply("/fits", b"x" * 10_000)
    assert len(safe_http.get(server.url("/fits")).body) == 10_000


def test_a_slow_dripping_body_is_cut_at_the_deadline(app, server):
    server.routes["/drip"] = drip
    started = time.monotonic()
    with pytest.raises(OutboundRefused, match="响应超时"):
        safe_http.get(server.url("/drip"))
    assert time.monotonic() - started < 3  # the deadline is 1 s; the server would go on for 20


def test_an_error_status_is_refused(app, server):
    with pytest.raises(OutboundRefused, match="HTTP 404"):
        safe_http.get(server.url("/missing"))


def test_the_connection_goes_to_the_address_that_was_checked(app, server, monkeypatch):
    """A name is resolved once, by the check; urllib3 never resolves it again (which DNS rebinding would exploit)."""
    server.reply("/ok", b"<ok/>")
    app.config["HARVEST_ALLOW_PRIVATE_HOSTS"] = ["harvest.test"]
    real = socket.getaddrinfo
    looked_up = []

    def resolve(host, *args, **kwargs):
        looked_up.append(host)
        return real("127.0.0.1" if host == "harvest.test" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    answer = safe_http.get(f"http://harvest.test:{server.port}/ok")
    assert answer.body == b"<ok/>"
    assert looked_up.count("harvest.test") == 1
    assert server.requests[-1][2]["Host"] == f"harvest.test:{server.port}"
