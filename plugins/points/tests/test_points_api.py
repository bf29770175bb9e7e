"""The points API: a person's own balance per term and their entries, never anyone else's; a school's report for
its admins and the district, and the district's ranking for the district admin."""
import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from plugins.points import earning, periods, reports, service
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


# --- the evaluation reports: a school's report and the district's ranking ----------------------------------------

def busy_term(district):
    """School A contributes (teacher.a's handout enters the library) and student.a, named 李小明, is short of the
    baseline; school B uses the handout (three uses over two people) and its student is named 赵小红."""
    from reslib.services import library, usage
    from reslib.testing import add_resource

    district.student_a.real_name, district.student_b.real_name = "李小明", "赵小红"
    db.session.commit()
    handout = add_resource(district.teacher_a, title="勾股定理讲义")
    library.changed(handout, "published", district.district_admin)
    service.award(district.district_admin, district.student_a, 30, "科技节三等奖")
    usage.record(district.student_b, handout, "view")
    usage.record(district.teacher_b, handout, "view")
    usage.record(district.teacher_b, handout, "download")
    return handout


def text_of(response) -> str:
    """The answer as it reads, its JSON's escapes undone: a name in it is found."""
    return json.dumps(response.get_json(), ensure_ascii=False)


def report_path(school, query: str = "") -> str:
    return f"/api/v1/points/schools/{school.id}/report{query}"


def test_a_school_admin_reads_their_schools_report_and_is_refused_anothers(client, district):
    handout = busy_term(district)
    response = client.get(report_path(district.school_a), headers=bearer(district.admin_a))
    assert response.status_code == 200
    body = response.get_json()
    assert body["school"] == {"id": district.school_a.id, "name": "第一实验小学"}
    assert body["term"]["id"] == periods.current_term().id
    assert [(r["id"], r["lineage_id"], r["title"], r["uses"], r["visits"]) for r in body["resources"]] == [
        (handout.id, handout.lineage_id, "勾股定理讲义", 3, 2)]
    assert [c["username"] for c in body["contributors"]] == ["teacher.a"]
    refused = client.get(report_path(district.school_b), headers=bearer(district.admin_a))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    assert "赵小红" not in text_of(refused)
    missing = client.get("/api/v1/points/schools/999999/report", headers=bearer(district.admin_a))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_teachers_students_and_reviewers_are_refused_both_reports(client, district):
    busy_term(district)
    for user in (district.teacher_a, district.student_a, district.reviewer, district.admin_b):
        for path in (report_path(district.school_a), "/api/v1/points/district/ranking"):
            response = client.get(path, headers=bearer(user))
            assert response.status_code == 403, (user.username, path)
            assert response.get_json()["error"]["code"] == "forbidden"
            assert "李小明" not in text_of(response)


def test_the_figures_are_those_of_the_schools_report(client, district):
    busy_term(district)
    term = periods.current_term()
    report = reports.school_report(district.school_a, term)
    body = client.get(report_path(district.school_a), headers=bearer(district.admin_a)).get_json()
    f = report.figures
    assert body["figures"] == {
        "learners": f.learners, "visits": f.visits, "uses": f.uses, "points": f.points, "contributed": f.contributed,
        "measured_total": f.measured_total, "reached_total": f.reached_total,
        "measured": f.measured, "reached": f.reached,
        "shares": {role: None if f.share(role) is None else round(f.share(role), 4) for role in periods.ROLES},
        "baseline_share": round(f.baseline_share, 4), "points_per_capita": round(f.points_per_capita, 4),
        "contribution_per_capita": round(f.contribution_per_capita, 4), "uses_per_capita": round(f.uses_per_capita, 4)}
    assert f.measured == {"teacher": 2, "student": 1} and f.contributed > 0
    assert body["below"] == [
        {"id": s.member.id, "real_name": s.member.real_name, "username": s.member.username, "role": s.role,
         "role_label": s.member.role_label, "points": s.points, "baseline": s.baseline, "short": s.short}
        for s in report.below]
    assert ("李小明", "student", "学生", 30, 60, 30) in [
        (b["real_name"], b["role"], b["role_label"], b["points"], b["baseline"], b["short"]) for b in body["below"]]
    assert [(c["id"], c["contributed"], c["points"]) for c in body["contributors"]] == [
        (c.user.id, c.contributed, c.points) for c in report.contributors]
    assert body["trend"] == [{"number": w.number, "starts_on": w.starts_on.isoformat(),
                              "ends_on": w.ends_on.isoformat(), "points": w.points, "uses": w.uses,
                              "visits": w.visits} for w in report.trend]
    assert sum(week["points"] for week in body["trend"]) == f.points


def test_a_students_name_is_given_only_to_those_allowed(client, district):
    busy_term(district)
    allowed = {district.admin_a.username, district.district_admin.username}
    for user in (district.admin_a, district.district_admin, district.admin_b, district.teacher_a, district.student_a,
                 district.student_b):
        text = text_of(client.get(report_path(district.school_a), headers=bearer(user)))
        assert ("李小明" in text) == (user.username in allowed), user.username


def test_the_district_admin_reads_any_schools_report(client, district):
    busy_term(district)
    for school in (district.school_a, district.school_b, district.school_c):
        response = client.get(report_path(school), headers=bearer(district.district_admin))
        assert response.status_code == 200 and response.get_json()["school"]["id"] == school.id
    body = client.get(report_path(district.school_b), headers=bearer(district.district_admin)).get_json()
    assert "赵小红" in [b["real_name"] for b in body["below"]]
    assert (body["figures"]["uses"], body["figures"]["learners"], body["figures"]["shares"]["student"]) == (3, 2, 0.0)
    empty = client.get(report_path(district.school_c), headers=bearer(district.district_admin)).get_json()
    assert empty["figures"]["measured_total"] == 0 and empty["figures"]["baseline_share"] is None
    assert empty["figures"]["shares"] == {"teacher": None, "student": None} and empty["below"] == []


def test_the_term_is_picked_by_its_id_and_an_unknown_one_is_the_current_term(client, district):
    busy_term(district)
    past = periods.term_on(date(2024, 10, 8))
    db.session.commit()
    headers = bearer(district.admin_a)
    body = client.get(report_path(district.school_a, f"?term_id={past.id}"), headers=headers).get_json()
    assert body["term"]["id"] == past.id and body["resources"] == [] and body["figures"]["points"] == 0
    current = periods.current_term().id
    assert client.get(report_path(district.school_a, "?term_id=999999"), headers=headers).get_json()["term"]["id"] \
        == current
    ranking = client.get(f"/api/v1/points/district/ranking?term_id={past.id}", headers=bearer(district.district_admin))
    assert ranking.get_json()["term"]["id"] == past.id
    for bad in ("abc", "0", "-1"):
        response = client.get(report_path(district.school_a, f"?term_id={bad}"), headers=headers)
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "term_id", bad


def test_the_district_admin_reads_the_ranking_quality_and_update_rate(client, district):
    from reslib.services import usage

    handout = busy_term(district)
    usage.rate(district.student_b, handout, 5, "讲得清楚")
    term = periods.current_term()
    response = client.get("/api/v1/points/district/ranking", headers=bearer(district.district_admin))
    assert response.status_code == 200
    body = response.get_json()
    assert body["weights"] == reports.weights_today() == {"contribution": 0.4, "use": 0.3, "baseline": 0.3}
    ranked = reports.ranking(term)
    assert [(s["rank"], s["school"]["id"], s["score"], s["indexes"], s["figures"]["measured_total"])
            for s in body["schools"]] == [
        (row.rank, row.school.id, round(row.score, 4), {part: round(v, 4) for part, v in row.normalised.items()},
         row.figures.measured_total) for row in ranked]
    assert body["schools"][0]["school"]["name"] == "第一实验小学" and body["schools"][0]["score"] == 0.4
    quality = reports.quality_ranking()
    assert body["quality"]["mean"] == 5.0 and body["quality"]["prior_weight"] == quality.prior_weight == 5
    assert body["quality"]["resources"] == [
        {"rank": 1, "id": handout.id, "lineage_id": handout.lineage_id, "title": "勾股定理讲义",
         "school": {"id": district.school_a.id, "name": "第一实验小学"}, "ratings": 1, "mean": 5.0,
         "score": round(float(quality.resources[0].score), 4), "uses": 3}]
    rate = reports.update_rate()
    assert body["update_rate"] == {"year": rate.year, "starts_on": rate.starts_on.isoformat(),
                                   "ends_on": rate.ends_on.isoformat(), "at_start": rate.at_start,
                                   "entered": rate.entered, "rate": None, "target": rate.target, "met": False}
    assert "李小明" not in text_of(response)  # the ranking names schools and resources, not people


def test_the_document_describes_both_reports(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/points/schools/{school_id}/report", "/api/v1/points/district/ranking"):
        operation = paths[path]["get"]
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"200", "400", "401", "403"} <= set(operation["responses"])
        assert [p["name"] for p in operation["parameters"] if p["in"] == "query"] == ["term_id"]
    assert "404" in paths["/api/v1/points/schools/{school_id}/report"]["get"]["responses"]


def strict(schema):
    """An OpenAPI 3.0 schema as JSON Schema, strictly: nullable as a "null" type, and an object with properties
    holding no others (so that an answer holds exactly what its document says, no more)."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    found = {name: strict(value) if name not in ("properties", "description") else value
             for name, value in schema.items() if name != "nullable"}
    if "properties" in schema:
        found["properties"] = {name: strict(value) for name, value in schema["properties"].items()}
        found.setdefault("additionalProperties", False)
    if schema.get("nullable"):
        found["type"] = [schema["type"], "null"]
    return found


def test_the_answers_hold_exactly_what_the_document_says(client, district):
    import jsonschema

    from reslib.services import usage

    handout = busy_term(district)
    usage.rate(district.student_b, handout, 4, "")
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    headers = bearer(district.district_admin)
    for school in (district.school_a, district.school_c):
        answer = client.get(report_path(school), headers=headers).get_json()
        schema = paths["/api/v1/points/schools/{school_id}/report"]["get"]["responses"]["200"]["content"]
        jsonschema.validate(answer, strict(schema["application/json"]["schema"]))
    answer = client.get("/api/v1/points/district/ranking", headers=headers).get_json()
    schema = paths["/api/v1/points/district/ranking"]["get"]["responses"]["200"]["content"]
    jsonschema.validate(answer, strict(schema["application/json"]["schema"]))
    assert answer["quality"]["resources"] and answer["schools"]
