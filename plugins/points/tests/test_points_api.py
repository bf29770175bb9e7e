"""The points API: a person's own balance per term and their entries, never anyone else's."""
from datetime import date, datetime

import pytest
from sqlalchemy import select

from plugins.points import earning, periods, service
from reslib.extensions import db
from reslib.models import User
from reslib.services import accounts


@pytest.fixture(autouse=True)
def members_since_long_ago(district):
    for user in db.session.scalars(select(User)):
        user.verified_at = user.created_at = datetime(2020, 1, 1)
    db.session.commit()


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {accounts.create_token(user, 'points')}"}


def test_the_balance_is_the_callers_own_this_term_and_past_ones(client, district):
    periods.ensure_terms(date(2025, 9, 1), periods.local_today())
    earning.write_entry(earning.new_entry(district.teacher_a.id, 40, "manual", "test:past", None, None,
                                          district.school_a.id, datetime(2025, 10, 8, 4), "优质课"))
    db.session.commit()
    service.award(district.district_admin, district.teacher_a, 12, "区级公开课")
    service.award(district.district_admin, district.teacher_b, 99, "另一所学校")
    body = client.get("/api/v1/points/me", headers=bearer(district.teacher_a)).get_json()
    current, past = periods.current_term(), periods.term_on(date(2025, 10, 8))
    assert body["balance"] == 12
    assert body["terms"][0] == {
        "term": {"id": current.id, "name": current.name, "starts_on": current.starts_on.isoformat(),
                 "ends_on": current.ends_on.isoformat()},
        "total": 12, "baseline": 100, "reached": False, "percent": 12, "current": True}
    assert {"term": past.name, "total": 40, "current": False} == {
        "term": body["terms"][-1]["term"]["name"], "total": body["terms"][-1]["total"],
        "current": body["terms"][-1]["current"]}


def test_someone_not_measured_has_no_baseline(client, district):
    body = client.get("/api/v1/points/me", headers=bearer(district.district_admin)).get_json()
    assert body["balance"] == 0
    assert [(t["total"], t["baseline"], t["reached"], t["percent"]) for t in body["terms"]] == [(0, None, False, 0)]


def test_the_history_lists_only_the_callers_entries_newest_first(client, district):
    service.award(district.district_admin, district.student_a, 5, "科技节二等奖")
    service.award(district.district_admin, district.teacher_a, 30, "别人的记分")
    service.award(district.district_admin, district.student_a, -2, "更正：重复记分")
    body = client.get("/api/v1/points/me/history", headers=bearer(district.student_a)).get_json()
    assert (body["total"], body["page"], body["pages"]) == (2, 1, 1)
    assert [(e["amount"], e["kind"], e["kind_label"], e["reason"]) for e in body["items"]] == [
        (-2, "manual", "手动记分", "更正：重复记分"), (5, "manual", "手动记分", "科技节二等奖")]
    assert all(e["occurred_at"].endswith("Z") and datetime.fromisoformat(e["occurred_at"][:-1]) for e in body["items"])
    past_the_end = client.get("/api/v1/points/me/history?page=2", headers=bearer(district.student_a)).get_json()
    assert (past_the_end["items"], past_the_end["total"]) == ([], 2)
    assert client.get("/api/v1/points/me/history", headers=bearer(district.teacher_b)).get_json()["items"] == []


def test_a_page_that_cannot_be_is_refused(client, district):
    for page in ("0", "abc", "-1"):
        response = client.get(f"/api/v1/points/me/history?page={page}", headers=bearer(district.student_a))
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "page", page


@pytest.mark.parametrize("path", ["/api/v1/points/me", "/api/v1/points/me/history"])
def test_without_a_valid_token_the_answer_is_401(client, district, path):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = client.get(path, headers=headers)
        assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"


def test_the_document_describes_both_operations(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/points/me", "/api/v1/points/me/history"):
        operation = paths[path]["get"]
        assert operation["security"] == [{"bearerAuth": []}] and {"200", "401"} <= set(operation["responses"])
    assert "400" in paths["/api/v1/points/me/history"]["get"]["responses"]
