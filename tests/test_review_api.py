"""The review workflow through the JSON API, with personal tokens."""
import pytest
from sqlalchemy import select
from test_review import EIGHTY, NINETY, ready_resource, second_reviewer

from reslib.extensions import db
from reslib.models import ReviewDecision
from reslib.services.accounts import create_token


@pytest.fixture
def reviewer_c(district):
    return second_reviewer(district)


@pytest.fixture
def api(client, district, reviewer_c):
    """A caller acting as one account: api("admin").post(...)."""
    tokens = {user.username: create_token(user, "测试") for user in (
        district.teacher_a, district.admin_a, district.admin_b, district.district_admin, district.reviewer, reviewer_c)}

    class Caller:
        def __init__(self, username):
            self.headers = {"Authorization": f"Bearer {tokens[username]}"}

        def get(self, path):
            return client.get(f"/api/v1{path}", headers=self.headers)

        def post(self, path, json=None):
            return client.post(f"/api/v1{path}", headers=self.headers, json=json)

        def put(self, path, json=None):
            return client.put(f"/api/v1{path}", headers=self.headers, json=json)

    return Caller


def test_the_whole_path_through_the_api(api, district, reviewer_c):
    resource = ready_resource(district.teacher_a)
    base = f"/resources/{resource.id}"

    submitted = api("teacher.a").post(f"{base}/submit")
    assert submitted.status_code == 200 and submitted.json["status"] == "submitted"
    assert api("admin.a").get("/review/queue").json["counts"]["submitted"] == 1

    decided = api("admin.a").post(f"{base}/decisions", {"stage": "school", "decision": "approve_and_recommend"})
    assert decided.json["status"] == "district_review"

    panel = api("admin").post(f"{base}/panel", {"reviewer_ids": [district.reviewer.id, reviewer_c.id],
                                                "due": "2999-12-31"})
    assert panel.status_code == 200 and panel.json["review_due"] == "2999-12-31" and panel.json["panel"]["assigned"] == 2

    queue = api("reviewer").get("/review/queue").json
    assert [item["stage"] for item in queue["queues"]["reviewer"]] == ["unscored"]
    assert "mean" not in queue["queues"]["reviewer"][0]["resource"]["panel"]  # reviewers score blind
    scored = api("reviewer").put(f"{base}/scores", {"scores": NINETY, "comment": "好"})
    assert scored.status_code == 200 and scored.json["total"] == 90
    api("reviewer.c").put(f"{base}/scores", {"scores": EIGHTY})

    published = api("admin").post(f"{base}/decisions", {"stage": "district", "decision": "publish"})
    assert published.status_code == 200
    assert (published.json["status"], published.json["grade"], published.json["score"]) == ("published", "good", 85.0)
    assert published.json["panel"]["mean"] == 85
    actions = db.session.scalars(select(ReviewDecision.action).where(ReviewDecision.resource_id == resource.id)
                                 .order_by(ReviewDecision.id)).all()
    assert actions == ["submit", "approve_and_recommend", "assign_panel", "publish"]


def test_api_errors_are_json_with_their_fields(api, district, reviewer_c):
    bare = ready_resource(district.teacher_a, subject_id=None)
    incomplete = api("teacher.a").post(f"/resources/{bare.id}/submit")
    assert incomplete.status_code == 422 and incomplete.json["error"]["fields"] == {"subject_id": "请选择学科"}

    resource = ready_resource(district.teacher_a, title="另一个")
    api("teacher.a").post(f"/resources/{resource.id}/submit")
    refused = api("admin.b").post(f"/resources/{resource.id}/decisions", {"stage": "school", "decision": "approve"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    no_reason = api("admin.a").post(f"/resources/{resource.id}/decisions", {"stage": "school", "decision": "reject"})
    assert no_reason.status_code == 400 and no_reason.json["error"] == {
        "code": "invalid", "message": "不通过请写明原因", "field": "comment"}
    not_json = api("admin.a").post(f"/resources/{resource.id}/decisions")
    assert not_json.status_code == 400

    api("admin.a").post(f"/resources/{resource.id}/decisions", {"stage": "school", "decision": "approve_and_recommend"})
    not_a_reviewer = api("admin").post(f"/resources/{resource.id}/panel", {"reviewer_ids": [district.admin_a.id]})
    assert not_a_reviewer.status_code == 400 and not_a_reviewer.json["error"]["field"] == "reviewer_ids"
    api("admin").post(f"/resources/{resource.id}/panel", {"reviewer_ids": [district.reviewer.id, reviewer_c.id]})
    out_of_range = api("reviewer").put(f"/resources/{resource.id}/scores", {"scores": {**NINETY, "版权合规": 11}})
    assert out_of_range.status_code == 422 and out_of_range.json["error"]["fields"] == {
        "版权合规": "“版权合规”应为 0 到 10 之间的数"}
    too_early = api("admin").post(f"/resources/{resource.id}/decisions", {"stage": "district", "decision": "publish"})
    assert too_early.status_code == 409


def test_the_queue_needs_a_reviewing_role(api):
    assert api("teacher.a").get("/review/queue").status_code == 403


def test_the_review_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path, method in (("/resources/{resource_id}/submit", "post"), ("/resources/{resource_id}/decisions", "post"),
                         ("/resources/{resource_id}/panel", "post"), ("/resources/{resource_id}/scores", "put"),
                         ("/review/queue", "get")):
        assert paths[f"/api/v1{path}"][method]["responses"]["200"]
