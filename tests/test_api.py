"""The JSON API: personal tokens, structured errors, the OpenAPI document."""
import re

from sqlalchemy import select

from reslib.extensions import db
from reslib.models import ApiToken
from reslib.testing import login, post_form


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_me_without_token_is_401_json(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized" and response.json["error"]["message"]


def test_token_created_on_the_profile_page_works_until_revoked(client, district):
    login(client, "teacher.a")
    page = post_form(client, "/profile/tokens", {"name": "课表脚本"}, token_page="/profile").get_data(as_text=True)
    token = page.split('<code class="token">')[1].split("</code>")[0]
    assert token.startswith("rl_")
    row = db.session.scalar(select(ApiToken))
    assert row.token_hash != token and token not in row.token_hash  # only the hash is kept
    api = client.application.test_client()
    me = api.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200 and me.json["username"] == "teacher.a" and me.json["school"]["name"] == "第一实验小学"
    post_form(client, f"/profile/tokens/{row.id}/revoke", token_page="/profile")
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_cli_token_for_a_user(runner, district):
    result = runner.invoke(args=["users", "token", "student.a"])
    token = result.output.strip()
    assert result.exit_code == 0 and token.startswith("rl_")
    response = runner.app.test_client().get("/api/v1/me", headers=bearer(token))
    assert response.json["roles"] == ["student"] and response.json["id_number"] is None


def test_tokens_of_disabled_accounts_stop_working(runner, district):
    token = runner.invoke(args=["users", "token", "teacher.a"]).output.strip()
    district.teacher_a.status = "disabled"
    db.session.commit()
    assert runner.app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_garbage_tokens_are_401(client):
    for header in ("Bearer", "Bearer rl_nope", "Basic abc", "rl_x"):
        assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401


def test_api_404_is_json(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_openapi_document_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, operations in spec["paths"].items() for method in operations}
    routes = {(re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule), method)
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")
              for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes <= documented, f"undocumented: {sorted(routes - documented)}"
    assert spec["paths"]["/api/v1/me"]["get"]["responses"]["401"]
    assert "Error" in spec["components"]["schemas"]


def test_openapi_document_is_valid_openapi_3(client):
    # A docstring's YAML can parse and still describe nonsense (an unquoted comma once split a
    # description into a stray key); client generators then choke on the document.
    from openapi_spec_validator import OpenAPIV30SpecValidator

    problems = [f"{'/'.join(map(str, error.absolute_path))}: {error.message[:200]}"
                for error in OpenAPIV30SpecValidator(client.get("/api/v1/openapi.json").json).iter_errors()]
    assert problems == []


def test_query_values_outside_the_document_are_refused_not_ignored(client, district):
    from reslib.services import accounts

    token = accounts.create_token(district.teacher_a, "脚本")
    refused = {
        "/api/v1/resources?sort=popular": ("sort", "relevance、newest、views、rating"),
        "/api/v1/resources?subject_id=数学": ("subject_id", "整数"),
        "/api/v1/resources?q=勾股&file_type=exe": ("file_type", "video"),
        "/api/v1/resources?q=" + "长" * 101: ("q", "100"),
        "/api/v1/review/queue?school_id=first": ("school_id", "整数"),
        "/api/v1/resources?school_id=2147483648": ("school_id", "超出范围"),  # past PostgreSQL's INTEGER
        "/api/v1/resources?page=" + "9" * 40: ("page", "超出范围"),
    }
    for url, (field, hint) in refused.items():
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 400, url
        assert response.json["error"]["code"] == "invalid" and response.json["error"]["field"] == field
        assert f"参数 {field}" in response.json["error"]["message"] and hint in response.json["error"]["message"]
    for url in ("/api/v1/resources?sort=views&subject_id=3&page=2&per_page=5", "/api/v1/resources?q=勾股&file_type=video"):
        assert client.get(url, headers=bearer(token)).status_code == 200, url  # undocumented per_page is no error
    # Who is asking comes first: without a token the answer is 401 whatever the query.
    assert client.get("/api/v1/resources?sort=popular").status_code == 401
