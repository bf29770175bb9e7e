"""Outbound HTTP for harvesting: only where the district allows, never into its own network by surprise.

Each request resolves the host, checks every address it resolves to, and connects to the address it
checked (a name that resolves elsewhere a moment later, DNS rebinding, changes nothing). Redirects are
followed here, at most MAX_REDIRECTS, each checked like the first address. A body is read in pieces
and cut at the size cap or at the total deadline, so neither a huge nor a slow-dripping answer ties
up the worker.

Settings: HARVEST_ALLOWED_HOSTS (host names; empty = any public host), HARVEST_ALLOW_PRIVATE_HOSTS
(host names, addresses or networks allowed even though they are not public), HARVEST_CONNECT_TIMEOUT
and HARVEST_READ_TIMEOUT (seconds per connect / per wait for data), HARVEST_TOTAL_SECONDS (the whole
answer) and HARVEST_MAX_BYTES (the body).
"""
import io
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests
import urllib3
from flask import current_app
from flask_babel import gettext as _
from requests.adapters import HTTPAdapter

from reslib.errors import ReslibError

MAX_REDIRECTS = 5
CHUNK = 64 * 1024
USER_AGENT = "reslib-harvester/1.0"


class OutboundRefused(ReslibError):
    """A request the district's rules refuse, or an answer that broke the caps; nothing of it is used."""

    def __init__(self, message):
        super().__init__(message, code="outbound_refused", status=502)


@dataclass
class Answer:
    url: str  # where the body finally came from, after redirects
    status: int
    headers: dict
    body: bytes


def get(url: str, *, params: dict | None = None, headers: dict | None = None, max_bytes: int | None = None,
        total_seconds: float | None = None, into=None) -> Answer:
    return request("GET", url, params=params, headers=headers, max_bytes=max_bytes, total_seconds=total_seconds,
                   into=into)


def request(method: str, url: str, *, params=None, data=None, json=None, headers: dict | None = None,
            max_bytes: int | None = None, total_seconds: float | None = None, into=None) -> Answer:
    """The answer to ``method url`` (a 2xx), its body read whole within the caps; else OutboundRefused.
    With ``into`` (a binary file) the body is written there instead of kept in ``Answer.body``."""
    config = current_app.config
    max_bytes = max_bytes or config["HARVEST_MAX_BYTES"]
    deadline = time.monotonic() + (total_seconds or config["HARVEST_TOTAL_SECONDS"])
    prepared = _prepare(method, url, params=params, data=data, json=json, headers=headers)
    for _hop in range(MAX_REDIRECTS + 1):
        response = _send(prepared, deadline)
        if response.is_redirect:
            target = urljoin(prepared.url, response.headers.get("Location", ""))
            response.close()
            # The caller's headers (a platform's token) go to the host they were meant for, never elsewhere.
            kept = headers if urlsplit(target).netloc == urlsplit(prepared.url).netloc else None
            # 303 and the classic 301/302 after a POST become a GET without a body, as browsers do.
            if response.status_code in (301, 302, 303) and prepared.method == "POST":
                prepared = _prepare("GET", target, headers=kept)
            else:
                prepared = _prepare(prepared.method, target, data=prepared.body,
                                    headers={**(kept or {}), "Content-Type": prepared.headers.get("Content-Type")})
            continue
        try:
            if not 200 <= response.status_code < 300:
                raise OutboundRefused(_("%(url)s 返回了 HTTP %(status)s", url=_short(prepared.url),
                                        status=response.status_code))
            kept = io.BytesIO() if into is None else into
            _read(response, max_bytes, deadline, kept.write)
        finally:
            response.close()
        return Answer(prepared.url, response.status_code, dict(response.headers),
                      kept.getvalue() if into is None else b"")
    raise OutboundRefused(_("重定向超过 %(n)s 次：%(url)s", n=MAX_REDIRECTS, url=_short(url)))


def _prepare(method: str, url: str, *, headers: dict | None = None, **body) -> requests.PreparedRequest:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(_("只能访问 http:// 或 https:// 网址：%(url)s", url=_short(url)))
    headers = {"User-Agent": USER_AGENT, **{name: value for name, value in (headers or {}).items() if value}}
    try:
        return requests.Request(method, url, headers=headers, **body).prepare()
    except (requests.RequestException, ValueError) as exc:  # a host name no URL may have, say
        raise OutboundRefused(_("不是有效的网址：%(url)s", url=_short(url))) from exc


def checked_address(url: str) -> str:
    """The address to connect to for ``url`` (an http(s) URL), once the host and every address it resolves to pass."""
    parts = urlsplit(url)
    host = parts.hostname.lower().rstrip(".")
    allowed_hosts = [name.lower() for name in current_app.config["HARVEST_ALLOWED_HOSTS"]]
    if allowed_hosts and host not in allowed_hosts:
        raise OutboundRefused(_("主机 %(host)s 不在允许采集的主机名单中", host=host))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, ValueError) as exc:  # no such name, or a port that is not a number
        raise OutboundRefused(_("无法解析主机 %(host)s", host=host)) from exc
    addresses = list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))
    for address in addresses:  # every one: a name that resolves to a public and a private address is refused
        if not _public(address) and not _privately_allowed(host, address):
            raise OutboundRefused(_("拒绝访问内网、本机或保留地址：%(host)s（%(address)s）", host=host,
                                    address=address))
    return str(addresses[0])


def _public(address) -> bool:
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def _privately_allowed(host: str, address) -> bool:
    for entry in current_app.config["HARVEST_ALLOW_PRIVATE_HOSTS"]:
        if entry.lower() == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:  # a host name, not a network
            continue
    return False


class _PinnedAdapter(HTTPAdapter):
    """Connects to ``address`` for whatever host the URL names; TLS still checks the certificate against
    the host name (SNI and hostname verification use the name, not the address)."""

    def __init__(self, address: str):
        self.address = address
        super().__init__(max_retries=0)

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        host_params, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if host_params["scheme"] == "https":
            pool_kwargs = {**pool_kwargs, "server_hostname": host_params["host"],
                           "assert_hostname": host_params["host"]}
        return self.poolmanager.connection_from_host(**{**host_params, "host": self.address},
                                                     pool_kwargs=pool_kwargs)


def _send(prepared, deadline: float) -> requests.Response:
    address = checked_address(prepared.url)
    prepared.headers["Host"] = urlsplit(prepared.url).netloc  # the connection is to the address
    config = current_app.config
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: it would connect where nobody checked
        adapter = _PinnedAdapter(address)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        timeout = (config["HARVEST_CONNECT_TIMEOUT"], config["HARVEST_READ_TIMEOUT"])
        if time.monotonic() > deadline:
            raise _too_slow(prepared.url)
        try:
            return session.send(prepared, stream=True, timeout=timeout, allow_redirects=False)
        except requests.Timeout as exc:
            raise _too_slow(prepared.url) from exc
        except requests.RequestException as exc:
            raise OutboundRefused(_("连接 %(url)s 失败：%(reason)s", url=_short(prepared.url),
                                    reason=type(exc).__name__)) from exc


def _read(response: requests.Response, max_bytes: int, deadline: float, write) -> None:
    """The body, decompressed, to ``write``, stopping at ``max_bytes`` or the deadline. ``read1`` returns what
    has arrived instead of waiting for a whole chunk, so a body dripping a byte at a time meets the deadline."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(response.url, max_bytes)
    size = 0
    try:
        while piece := response.raw.read1(CHUNK, decode_content=True):
            size += len(piece)
            if size > max_bytes:
                raise _too_large(response.url, max_bytes)
            if time.monotonic() > deadline:
                raise _too_slow(response.url)
            write(piece)
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise _too_slow(response.url) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # reset, cut short, or not the gzip it claimed
        raise OutboundRefused(_("读取 %(url)s 时连接中断", url=_short(response.url))) from exc


def _too_large(url: str, max_bytes: int) -> OutboundRefused:
    return OutboundRefused(_("%(url)s 的内容超过 %(n)s 字节，已停止读取", url=_short(url), n=max_bytes))


def _too_slow(url: str) -> OutboundRefused:
    return OutboundRefused(_("%(url)s 响应超时，已停止读取", url=_short(url)))


def _short(url: str) -> str:
    return url if len(url) <= 200 else url[:200] + "…"
