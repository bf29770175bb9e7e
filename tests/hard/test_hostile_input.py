"""Hostile input never crashes a page: every GET route of the authorization table, as every role, with query
values no form would send (numbers too large for the database, negative and non-numeric ones, odd search text),
and with ids too large for the database in the path. A bad value is ignored or refused, never a 500."""
from urllib.parse import quote, urlencode

import pytest

from reslib.errors import ReslibError
from reslib.models.base import MAX_ID, as_id
from reslib.services import accounts
from reslib.testing import add_resource, csrf_token, login, post_form
from test_authorization import ROLES, all_routes, fill_in, open_competition, user_of

HUGE = str(10**25)
JUST_TOO_LARGE = str(MAX_ID + 1)  # beyond PostgreSQL's INTEGER, not beyond SQLite's
NUMERIC = ("page", "school_id", "subject_id", "stage_id", "grade_id", "edition_id", "form_id", "category_id",
           "year", "stars", "per_page")
WORDS = ("sort", "status", "kind", "stage", "role", "section", "column", "library", "file_type", "source", "action",
         "result", "since", "until", "format", "next")
QUERIES = {
    "numbers too large": {name: HUGE for name in NUMERIC},
    "numbers just too large": {name: JUST_TOO_LARGE for name in NUMERIC},
    "negative numbers": {name: "-1" for name in NUMERIC},
    "text for numbers and nonsense for words": {**{name: "abc" for name in NUMERIC},
                                                 **{name: "2026-13-45" for name in WORDS}},
    "odd search text": {"q": "\x00\"(*数" + "学" * 300, "prefix": "%"},
}
GET_ROUTES = sorted(endpoint for endpoint, (method, _path, _roles) in all_routes().items() if method == "GET")


def test_as_id_reads_only_ids_the_database_can_hold():
    assert as_id("42") == 42
    assert as_id(" 7 ") == 7
    assert as_id(7) == 7
    assert as_id(str(MAX_ID)) == MAX_ID
    for text in (None, "", "0", "-1", "1.5", "abc", "١٢", str(MAX_ID + 1), HUGE, True, 2.0):
        assert as_id(text) is None, text


def _signed_in(app, district, role):
    """A browser signed in as ``role`` (none for anonymous), and the headers its API calls carry."""
    browser = app.test_client()
    if role == "anonymous":
        return browser, {}
    login(browser, role)
    return browser, {"Authorization": f"Bearer {accounts.create_token(user_of(district, role), 'hostile')}"}


@pytest.mark.parametrize("endpoint", GET_ROUTES)
def test_no_query_value_crashes_a_page(app, district, endpoint):
    _method, template, _roles = all_routes()[endpoint]
    path = fill_in(template, district, open_competition(district) if "{competition}" in template else None)
    base, _sep, own_query = path.partition("?")
    for role in ROLES:
        browser, headers = _signed_in(app, district, role)
        for name, query in QUERIES.items():
            url = f"{quote(base)}?{urlencode({**dict(pair.split('=') for pair in own_query.split('&') if pair), **query})}"
            response = browser.get(url, headers=headers)
            assert response.status_code < 500, f"{role} {name}: {url} answered {response.status_code}"
            response.close()


# Every form field name the app's forms use, and the review rubric's criteria.
FORM_FIELDS = ("agree amount catalogue_xml category_id chapter code comment confirm copyright_holder created_on "
               "current_password decision description dry_run due edition_id entry_deadline form_id grade_id id_number "
               "identifier keywords kind library licence link_url max_award_rate name national_target notes parent_id "
               "password presenters prize_ratio real_name reason reviewer_ids role roles school_id source stage_id stars "
               "status subject_id title type_code unit username year section column amount 导向正确 科学规范").split()
FORM_VALUES = {"numbers too large": HUGE, "numbers just too large": JUST_TOO_LARGE, "negative": "-1",
               "NUL": "\x00", "long text": "长" * 5000, "impossible date": "2026-02-30"}
WRITE_ROUTES = sorted(endpoint for endpoint, (method, _path, roles) in all_routes().items()
                      if method != "GET" and roles and endpoint not in ("auth.logout", "auth.set_language"))


@pytest.mark.parametrize("endpoint", WRITE_ROUTES)
def test_no_form_or_json_value_crashes_a_write(app, district, endpoint):
    """Every form and API write, by someone allowed to make it, with each hostile value in every field."""
    method, template, roles = all_routes()[endpoint]
    role = sorted(roles)[0]
    competition = open_competition(district) if "{competition}" in template else None
    for name, value in FORM_VALUES.items():
        path = fill_in(template, district, competition)  # afresh for each value: a write may change its target
        browser, headers = _signed_in(app, district, role)
        if path.startswith("/api/"):
            response = browser.open(path, method=method, json={field: value for field in FORM_FIELDS}, headers=headers)
        else:
            response = browser.open(path, method=method, data={"csrf_token": csrf_token(browser, "/dashboard"),
                                                               **{field: value for field in FORM_FIELDS}})
        assert response.status_code < 500, f"{role} {method} {path} with {name}: {response.status_code}"
        response.close()


# Paths with an id in them; a certificate's number is not an id (its own tests try malformed and unknown ones).
@pytest.mark.parametrize("endpoint", [endpoint for endpoint in GET_ROUTES if "{" in all_routes()[endpoint][1].split("?")[0]
                                      and "{certificate}" not in all_routes()[endpoint][1]])
def test_an_id_too_large_for_the_database_is_not_found(app, district, endpoint):
    template = all_routes()[endpoint][1]
    path = fill_in(template, district, open_competition(district) if "{competition}" in template else None)
    for too_large in (HUGE, JUST_TOO_LARGE):
        url = "/".join(too_large if part.isdigit() else part for part in path.split("?")[0].split("/"))
        for role in ("anonymous", "student.a", "admin"):
            browser, headers = _signed_in(app, district, role)
            assert browser.get(url, headers=headers).status_code == 404, f"{role} {url}"


def test_a_school_library_keeps_its_own_school_in_its_links(client, district):
    """A school_id in the query never replaces the one in the path, in the sort and page links."""
    login(client, "student.a")
    page = client.get(f"/library/schools/{district.school_a.id}?school_id={district.school_b.id}&page=1")
    assert page.status_code == 200
    links = [link for link in page.get_data(as_text=True).split('href="')[1:] if link.startswith("/library/schools/")]
    assert links, "the page has no sort or page links"
    assert all(link.startswith(f"/library/schools/{district.school_a.id}?") for link in links), links


@pytest.mark.parametrize("body", ["[]", "[1]", '"text"', "3", "null", "not json"])
def test_a_json_body_that_is_not_an_object_is_refused_clearly(app, district, body):
    teacher = district.teacher_a
    headers = {"Authorization": f"Bearer {accounts.create_token(teacher, 'hostile')}",
               "Content-Type": "application/json"}
    client = app.test_client()
    published = add_resource(district.teacher_b)
    for method, path in (("POST", "/api/v1/resources"), ("PUT", f"/api/v1/resources/{published.id}/rating"),
                         ("PATCH", f"/api/v1/resources/{add_resource(teacher, status='draft').id}")):
        response = client.open(path, method=method, data=body, headers=headers)
        assert response.status_code == 400, (method, path, response.status_code)
        assert response.get_json()["error"]["code"] == "bad_request"


def test_player_progress_that_is_not_an_object_is_refused(client, district):
    resource = add_resource(district.teacher_a)
    login(client, "student.a")
    response = client.post(f"/resources/{resource.id}/progress", data="[50]", content_type="application/json",
                           headers={"X-CSRFToken": csrf_token(client, "/dashboard")})
    assert response.status_code == 400


def test_ids_too_large_for_the_database_are_refused_by_the_services(app, district):
    from reslib.services import review, vocabularies
    from reslib.testing import add_resource

    resource = add_resource(district.teacher_a, status="district_review")
    with pytest.raises(ReslibError, match="评审专家选择有误"):
        review.assign_panel(district.district_admin, resource, [HUGE, district.reviewer.id])
    with pytest.raises(ReslibError) as refused:
        vocabularies.add_term(district.district_admin, "category", "新分类", HUGE)
    assert refused.value.field == "parent_id"
    with pytest.raises(ReslibError, match="请选择学校"):
        accounts.get_school(JUST_TOO_LARGE)


def test_a_transfer_to_a_school_id_too_large_for_the_database_is_refused(client, district):
    login(client, "admin")
    response = post_form(client, f"/admin/accounts/{district.teacher_a.id}/transfer", {"school_id": HUGE},
                         token_page=f"/admin/accounts/{district.teacher_a.id}")
    assert response.status_code < 500
    assert "请选择学校" in client.get(f"/admin/accounts/{district.teacher_a.id}").get_data(as_text=True) \
        or "请选择学校" in response.get_data(as_text=True)


def test_a_refusal_does_not_depend_on_the_body(app, district):
    """Someone who may not take the step is refused before their body is read, whatever they send."""
    draft = add_resource(district.teacher_a, status="draft")
    headers = {"Authorization": f"Bearer {accounts.create_token(district.student_b, 'hostile')}",
               "Content-Type": "application/json"}
    client = app.test_client()
    for method, path in (("POST", "/api/v1/resources"), ("PATCH", f"/api/v1/resources/{draft.id}"),
                         ("PUT", f"/api/v1/resources/{add_resource(district.teacher_a, status='school_approved').id}/rating")):
        for body in ("[]", '{"title": "x"}'):
            assert client.open(path, method=method, data=body, headers=headers).status_code == 403, (method, path, body)


def test_nul_characters_never_reach_the_database(app, district):
    """PostgreSQL refuses text holding NUL: it is stripped from every value sent, in queries and in writes alike."""
    from sqlalchemy import select

    from reslib.extensions import db
    from reslib.models import Resource, School

    resource = add_resource(district.teacher_a, title="勾股\x00定理")
    # Several rows in one statement, whose parameters are laid out differently from a single row's.
    db.session.add_all([School(name=f"第{n}\x00中学", code=f"N{n}", unit_id=district.school_a.unit_id) for n in range(3)])
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Resource, resource.id).title == "勾股定理"
    assert db.session.scalar(select(Resource.id).where(Resource.title == "勾股\x00定理")) == resource.id
    assert db.session.scalar(select(School.name).where(School.code == "N2")) == "第2中学"
