"""Issue 26, defects 2, 3, 9 and 10: what the API takes in a body, a create that is all or nothing, the OpenAPI
document that agrees with the API, and link addresses. Each test failed before its fix."""
import json

import pytest
from sqlalchemy import func, select

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Resource
from reslib.models.base import MAX_ID
from reslib.services import accounts, library, vocabularies
from reslib.services.importer import import_records
from reslib.testing import add_resource, csrf_token, login, post_form

LINK = "https://basic.smartedu.cn/course/1"


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {accounts.create_token(user, 'hard')}"}


def resources() -> int:
    return db.session.scalar(select(func.count()).select_from(Resource))


# --- defect 2: bodies are checked against their schemas ---------------------------------------------------------

NOT_TEXT = [3, 2.5, True, ["文字"], {"$ne": 1}]
WRONG_TYPES = [
    *(("rating", {"stars": 4}, "comment", value) for value in NOT_TEXT),
    *(("create", {"link_url": LINK}, "link_url", value) for value in NOT_TEXT),
    *(("create", {"link_url": LINK}, "title", value) for value in NOT_TEXT),
    *(("decisions", {"stage": "school", "decision": "approve"}, "decision", value) for value in NOT_TEXT),
    *(("update", {}, "subject_id", value) for value in ("3", 2.5, True, [3], {"$ne": 1})),
]


@pytest.mark.parametrize(("endpoint", "body", "field", "value"), WRONG_TYPES)
def test_a_value_of_the_wrong_json_type_is_refused_naming_its_field(client, district, endpoint, body, field, value):
    """A number, a list, an object or a bool where the document says text (or anything but a number for an id)
    answered 500."""
    method, path, user = {
        "rating": ("PUT", f"/api/v1/resources/{add_resource(district.teacher_b).id}/rating", district.student_a),
        "create": ("POST", "/api/v1/resources", district.teacher_a),
        "decisions": ("POST", f"/api/v1/resources/{add_resource(district.teacher_a, status='submitted').id}/decisions",
                      district.admin_a),
        "update": ("PATCH", f"/api/v1/resources/{add_resource(district.teacher_a, status='draft').id}", district.teacher_a),
    }[endpoint]
    before = resources()
    response = client.open(path, method=method, json={**body, field: value}, headers=bearer(user))
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["field"], list(error["fields"])) == ("invalid_body", field, [field])
    assert error["message"].startswith(f"{field} 应为")
    assert resources() == before


def test_every_wrong_field_is_named_at_once_and_an_unknown_one_too(client, district):
    published = add_resource(district.teacher_b)
    response = client.put(f"/api/v1/resources/{published.id}/rating", json={"comment": ["好"], "star": 5},
                          headers=bearer(district.student_a))
    error = response.get_json()["error"]
    assert response.status_code == 400 and error["field"] == "stars"
    assert error["fields"] == {"stars": "请提供 stars，应为介于 1 到 5 之间的整数",
                               "comment": "comment 应为不超过 500 个字的文本", "star": "没有 star 这个字段"}


def test_a_link_with_an_unclosed_ipv6_bracket_is_refused(client, district):
    """urlsplit raises ValueError on "https://[::1", which answered 500."""
    response = client.post("/api/v1/resources", json={"link_url": "https://[::1"}, headers=bearer(district.teacher_a))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "link_url"


def test_json_nested_deeper_than_the_parser_goes_is_refused(client, district):
    """A RecursionError from the JSON parser answered 500, in the API and on the player's progress route alike."""
    draft = add_resource(district.teacher_a, status="draft")
    response = client.patch(f"/api/v1/resources/{draft.id}", data="[" * 100_000, content_type="application/json",
                            headers=bearer(district.teacher_a))
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_request"
    published = add_resource(district.teacher_a, content=b"%PDF-1.4 played")
    login(client, "student.a")
    response = client.post(f"/resources/{published.id}/progress", data="[" * 50_000, content_type="application/json",
                           headers={"X-CSRFToken": csrf_token(client, "/dashboard")})
    assert response.status_code == 400


def test_the_document_describes_each_body_by_the_schema_that_checks_it(client):
    """The request bodies are components made from the marshmallow schemas the API loads them with."""
    spec = client.get("/api/v1/openapi.json").get_json()
    bodies = {(path, method): operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
              for path, operations in spec["paths"].items() for method, operation in operations.items()
              if "application/json" in operation.get("requestBody", {}).get("content", {})}
    assert bodies == {
        ("/api/v1/resources", "post"): "#/components/schemas/LinkBody",
        ("/api/v1/resources/{resource_id}", "patch"): "#/components/schemas/MetadataBody",
        ("/api/v1/resources/{resource_id}/rating", "put"): "#/components/schemas/RatingBody",
        ("/api/v1/resources/{resource_id}/decisions", "post"): "#/components/schemas/DecisionBody",
        ("/api/v1/resources/{resource_id}/panel", "post"): "#/components/schemas/PanelBody",
        ("/api/v1/resources/{resource_id}/scores", "put"): "#/components/schemas/ScoresBody",
    }
    schemas = spec["components"]["schemas"]
    assert set(schemas["MetadataBody"]["properties"]) == set(library.METADATA_FIELDS)
    assert schemas["LinkBody"]["required"] == ["link_url"]
    assert schemas["RatingBody"]["properties"]["comment"] == {"type": "string", "maxLength": 500, "nullable": True}
    assert all(schemas[name]["additionalProperties"] is False for name in ("LinkBody", "RatingBody", "DecisionBody"))


# --- defect 3: a create is all or nothing ---------------------------------------------------------------------

@pytest.mark.parametrize("metadata", [{"subject_id": {"$ne": 1}}, {"subject_id": 99999}, {"column": "劳动光荣"},
                                      {"created_on": "2024-02-30"}])
def test_a_refused_create_leaves_no_draft_behind(client, district, metadata):
    """The draft used to be committed before its metadata was checked: a retrying client piled them up."""
    before = resources()
    response = client.post("/api/v1/resources", json={"link_url": LINK, **metadata}, headers=bearer(district.teacher_a))
    assert response.status_code in (400, 422) and response.get_json()["error"]["field"] == next(iter(metadata))
    assert resources() == before


def test_a_create_with_metadata_is_one_step(client, district):
    subject = vocabularies.terms("subject")[1]
    response = client.post("/api/v1/resources", json={"link_url": LINK, "title": "国家平台课程", "subject_id": subject.id,
                                                      "section": "德育", "column": "爱国主义"},
                           headers=bearer(district.teacher_a))
    assert response.status_code == 201, response.get_json()
    created = db.session.get(Resource, response.get_json()["id"])
    assert (created.title, created.subject_id, created.column, created.type_code) == ("国家平台课程", subject.id,
                                                                                      "爱国主义", "A03")
    with pytest.raises(library.MetadataInvalid) as refused:
        library.create_link(district.teacher_a, LINK, "", {"subject_id": 99999, "created_on": "昨天"})
    assert set(refused.value.errors) == {"subject_id", "created_on"} and resources() == 1


# --- defect 9: the document agrees with the API -----------------------------------------------------------------

def test_the_document_names_every_answer_a_token_and_an_id_can_get(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            if operation.get("security"):
                assert "401" in operation["responses"], where
            if "{resource_id}" in path:
                assert "404" in operation["responses"], where
            for parameter in operation.get("parameters", []):
                if parameter["schema"].get("type") == "integer":
                    assert (parameter["schema"]["minimum"], parameter["schema"]["maximum"]) == (1, MAX_ID), where
    download = spec["paths"]["/api/v1/resources/{resource_id}/download"]["get"]["responses"]
    assert list(download["200"]["content"]) == ["*/*"] and "416" in download  # a pdf is answered as a pdf
    assert "422" in spec["paths"]["/api/v1/resources"]["post"]["responses"]


def test_an_empty_link_is_answered_as_documented(client, district):
    response = client.post("/api/v1/resources", json={"link_url": ""}, headers=bearer(district.teacher_a))
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"link_url": "请填写资源网址"}


def test_query_numbers_outside_their_declared_bounds_are_refused(client, district):
    for query in ("page=0", "school_id=-1", f"subject_id={MAX_ID + 1}"):
        response = client.get(f"/api/v1/resources?{query}", headers=bearer(district.student_a))
        assert response.status_code == 400 and response.get_json()["error"]["field"] == query.split("=")[0], query
        assert "超出范围（1 到 2147483647）" in response.get_json()["error"]["message"]


@pytest.mark.parametrize("method", ["PATCH", "DELETE", "PUT", "TRACE"])
def test_an_id_past_any_row_is_not_found_whatever_the_method(client, district, method):
    """werkzeug chose the route by its pattern and only then refused the number: DELETE answered 405."""
    response = client.open(f"/api/v1/resources/{MAX_ID + 1}", method=method, headers=bearer(district.teacher_a))
    assert response.status_code == 404 and "Allow" not in response.headers


def test_a_method_the_path_lacks_is_answered_405_with_allow(client, district):
    """The error handler rebuilt the answer and dropped the exception's headers; RFC 9110 wants Allow on a 405."""
    resource = add_resource(district.teacher_a)
    for path in ("/api/v1/me", f"/api/v1/resources/{resource.id}", "/dashboard"):
        response = client.open(path, method="TRACE")
        assert response.status_code == 405, path
        assert "GET" in {method.strip() for method in response.headers["Allow"].split(",")}, path
    assert client.open(f"/api/v1/resources/{resource.id}", method="TRACE").get_json()["error"]["code"] == \
        "method_not_allowed"


def test_metrics_ask_for_a_token_first(client):
    """A request without credentials answers 401 as everywhere, even while metrics are off (they answered 404)."""
    assert client.get("/api/v1/metrics").status_code == 401
    response = client.get("/api/v1/metrics", headers={"Authorization": "Bearer any"})
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_enabled"


# --- defect 10: link addresses ----------------------------------------------------------------------------------

BAD_LINKS = {
    "https://example.org:99999/": "端口", "https://example.org:0/": "端口", "https://example.org:http/": "端口",
    "https://\u202eevil.example/": "文字方向", "https://example.org/\u2066x\u2069": "文字方向",
    "https://exa\u200fmple.org/": "文字方向", "https://example.org/\x07": "控制字符",
}


@pytest.mark.parametrize("url", BAD_LINKS)
def test_a_link_with_a_port_out_of_range_or_a_direction_control_is_refused(client, district, url):
    with pytest.raises(ReslibError, match=BAD_LINKS[url]) as refused:
        library.check_link(url)
    assert refused.value.field == "link_url"
    response = client.post("/api/v1/resources", json={"link_url": url}, headers=bearer(district.teacher_a))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "link_url"
    assert resources() == 0


def test_the_upload_form_and_the_importer_refuse_them_too_and_take_good_links(client, district):
    login(client, "teacher.a")
    refused = post_form(client, "/upload/link", {"link_url": "https://\u202eevil.example/", "title": ""},
                        token_page="/upload")
    assert refused.status_code == 422 and "文字方向" in refused.get_data(as_text=True)
    taken = post_form(client, "/upload/link", {"link_url": "https://例子.中国:8443/课程", "title": ""}, token_page="/upload")
    assert taken.status_code == 302 and db.session.scalar(select(Resource.title)) == "例子.中国"
    lines = [{"title": "好", "link_url": "https://example.org:8080/a"}, {"title": "坏", "link_url": "https://example.org:99999/"}]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode()
    report = import_records(district.district_admin, "catalogue.jsonl", data, library="district")
    assert report.lines == ["第 2 行：链接中的端口应为 1 到 65535 之间的数字"]
