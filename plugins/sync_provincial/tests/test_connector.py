"""Delivering a round through a platform's API started by the test on 127.0.0.1: the token and the idempotency key
are sent, a failed call is retried without filing twice, and the platform's answers come back as statuses."""
import json
import threading

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from plugins.sync_provincial import connector, rounds, service
from plugins.sync_provincial.tests.test_rounds import published, round_data
from reslib.errors import ReslibError
from reslib.testing import login, post_form


class Platform:
    """Files each resource once per idempotency key; the first call fails, as a busy platform's might."""

    def __init__(self):
        self.filed, self.calls, self.verdicts = {}, [], {}
        self.fail_next = True
        self.garbled = False  # answers a maintenance page instead of JSON

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.calls.append((request.method, request.path, request.headers.get("Authorization"),
                           request.headers.get("Idempotency-Key")))
        if self.garbled:
            return Response("<html>维护中</html>")(environ, start_response)
        if self.fail_next:
            self.fail_next = False
            return Response("busy", status=503)(environ, start_response)
        if request.method == "POST":
            body = request.get_json()
            self.filed.setdefault(request.headers["Idempotency-Key"], body)
            answer = {"status": "received"}
        else:
            answer = self.verdicts.get(request.path.rsplit("/", 1)[-1], {"status": "received"})
        return Response(json.dumps(answer), mimetype="application/json")(environ, start_response)


@pytest.fixture
def app_config():
    return {"HARVEST_ALLOW_PRIVATE_HOSTS": ["127.0.0.1"], "PLATFORM_API_TOKEN": "district-token",
            "PLATFORM_RETRY_SECONDS": 0}


@pytest.fixture
def platform():
    served = Platform()
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_port}/api/recommendations"
    yield served
    server.shutdown()


@pytest.fixture
def selected(app, district, platform):
    round_ = rounds.save_round(district.district_admin, None, round_data(submit_url=platform.url))
    service.set_quotas(district.district_admin, round_, {(district.school_a.unit_id, "德育"): 2})
    items = []
    for title, owner in (("红色家书诵读", district.teacher_a), ("家乡的英雄", district.teacher_b)):
        item = rounds.propose(district.district_admin, round_, published(owner, title), "德育", "爱国主义")
        rounds.select_candidate(district.district_admin, item)
        items.append(item)
    return round_, items


def test_delivery_sends_token_and_key_retries_once_and_files_each_once(app, district, platform, selected):
    round_, (first, second) = selected
    with app.test_request_context():
        report = connector.deliver(district.district_admin, round_)
    assert (report.changed, report.problems) == (2, [])
    assert first.status == second.status == "submitted"
    assert set(platform.filed) == {first.delivery_key, second.delivery_key}
    assert platform.filed[first.delivery_key]["metadata"]["title"] == "红色家书诵读"
    posts = [call for call in platform.calls if call[0] == "POST"]
    assert len(posts) == 3 and posts[0][3] == posts[1][3] == first.delivery_key  # the retry kept its key
    assert all(call[2] == "Bearer district-token" for call in platform.calls)

    platform.verdicts = {first.delivery_key: {"status": "online", "url": "https://basic.smartedu.cn/r/1"},
                         second.delivery_key: {"status": "rejected", "reason": "画面不清晰"}}
    with app.test_request_context():
        report = connector.deliver(district.district_admin, round_)
    assert report.changed == 2
    assert (first.status, first.online_url) == ("online", "https://basic.smartedu.cn/r/1")
    assert (second.status, second.reason) == ("rejected", "画面不清晰")
    assert all(call[0] == "GET" for call in platform.calls[4:])  # what was filed is asked about, not filed again


def test_an_answer_the_connector_cannot_read_is_reported_and_changes_nothing(app, district, platform, selected):
    round_, (first, _) = selected
    platform.garbled = True
    with app.test_request_context():
        report = connector.deliver(district.district_admin, round_)
    assert report.changed == 0 and len(report.problems) == 2 and "平台的答复无法识别" in report.problems[0]
    assert first.status == "selected"


def test_a_round_without_an_api_is_delivered_by_hand(client, district):
    round_ = rounds.save_round(district.district_admin, None, round_data())
    with pytest.raises(ReslibError):
        connector.deliver(district.district_admin, round_)
    login(client, "admin")
    detail = f"/provincial/rounds/{round_.id}"
    assert "通过平台接口报送" not in client.get(detail).get_data(as_text=True)
    post_form(client, f"{detail}/deliver", token_page=detail)
    assert "请下载材料包报送" in client.get(detail).get_data(as_text=True)
