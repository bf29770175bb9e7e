"""One table of route × role: every route in app.url_map must be in it, and each role gets exactly what it says.

Roles: anonymous, a student and a teacher of school A, school A's admin (own school), school B's admin
(another school), a reviewer (a teacher of school B) and the district admin. Routes that act on an account
act on a pending student of school A. Routes that act on a resource act on one of teacher.a's (school A)
in the state the placeholder names, made afresh for each role, with the reviewer on its district panel
when it is under district review. The API is called with each role's own token.
"""
import pytest

from reslib.extensions import db
from reslib.models import ReviewAssignment
from reslib.services import accounts, vocabularies
from reslib.testing import MINIMAL_PDF, add_resource, csrf_token, login

ROLES = ("anonymous", "student.a", "teacher.a", "admin.a", "admin.b", "reviewer", "admin")
SIGNED_IN = set(ROLES) - {"anonymous"}
SCHOOL_ADMINS = {"admin.a", "admin.b", "admin"}
OWN_SCHOOL_ADMINS = {"admin.a", "admin"}
DISTRICT = {"admin"}
EVERYONE = set(ROLES)
UPLOADERS = {"teacher.a", "admin.a", "admin.b", "reviewer", "admin"}  # teachers and admins
REVIEW_STAFF = {"admin.a", "admin.b", "reviewer", "admin"}
SCHOOL_A_MEMBERS = {"student.a", "teacher.a", "admin.a", "admin"}  # and the district
OWNER = {"teacher.a"}
OWNER_AND_SCHOOL_STAFF = {"teacher.a", "admin.a", "admin"}
RESOURCE_STATES = ("draft", "submitted", "school_approved", "district_review", "published")

# endpoint: (method, path, roles allowed). {target} is the pending student of school A, {school_a} their school.
ROUTES = {
    "static": ("GET", "/static/css/reslib.css", EVERYONE),
    "main.index": ("GET", "/", EVERYONE),
    "main.healthz": ("GET", "/healthz", EVERYONE),
    "auth.login": ("GET", "/login", EVERYONE),
    "auth.sign_in": ("POST", "/login", EVERYONE),
    "auth.register": ("GET", "/register", EVERYONE),
    "auth.set_language": ("POST", "/language/en", EVERYONE),
    "api.openapi": ("GET", "/api/v1/openapi.json", EVERYONE),
    "api.me": ("GET", "/api/v1/me", SIGNED_IN),
    "api.metrics": ("GET", "/api/v1/metrics", set()),  # the district's METRICS_TOKEN only, never a person's token
    "auth.logout": ("POST", "/logout", SIGNED_IN),
    "auth.change_password": ("GET", "/password", SIGNED_IN),
    "main.dashboard": ("GET", "/dashboard", SIGNED_IN),
    "main.profile": ("GET", "/profile", SIGNED_IN),
    "main.create_token": ("POST", "/profile/tokens", SIGNED_IN),
    "main.revoke_token": ("POST", "/profile/tokens/999/revoke", set()),  # nobody owns token 999: 404 for all
    "admin.verifications": ("GET", "/admin/verifications", SCHOOL_ADMINS),
    "admin.accounts": ("GET", "/admin/accounts", SCHOOL_ADMINS),
    "admin.audit": ("GET", "/admin/audit", SCHOOL_ADMINS),
    "admin.roster_import": ("GET", "/admin/roster", SCHOOL_ADMINS),
    "admin.export_accounts": ("GET", "/admin/accounts/export?school_id={school_a}", SCHOOL_ADMINS),  # B's admin gets B's
    "admin.account": ("GET", "/admin/accounts/{target}", OWN_SCHOOL_ADMINS),
    "admin.verify": ("POST", "/admin/accounts/{target}/verify", OWN_SCHOOL_ADMINS),
    "admin.reject": ("POST", "/admin/accounts/{target}/reject", OWN_SCHOOL_ADMINS),
    "admin.disable": ("POST", "/admin/accounts/{target}/disable", OWN_SCHOOL_ADMINS),
    "admin.enable": ("POST", "/admin/accounts/{target}/enable", OWN_SCHOOL_ADMINS),
    "admin.unlock": ("POST", "/admin/accounts/{target}/unlock", OWN_SCHOOL_ADMINS),
    "admin.reset_password": ("POST", "/admin/accounts/{target}/reset-password", OWN_SCHOOL_ADMINS),
    "admin.transfer": ("POST", "/admin/accounts/{target}/transfer", DISTRICT),
    "admin.roles": ("POST", "/admin/accounts/{target}/roles", DISTRICT),
    "admin.schools": ("GET", "/admin/schools", DISTRICT),
    "admin.schools_import": ("POST", "/admin/schools/import", DISTRICT),
    "admin.monitoring": ("GET", "/admin/monitoring", DISTRICT),
    "admin.plugins": ("GET", "/admin/plugins", DISTRICT),
    "admin.taxonomy": ("GET", "/admin/taxonomy", DISTRICT),
    "admin.add_term": ("POST", "/admin/taxonomy/subject", DISTRICT),
    "admin.change_term": ("POST", "/admin/taxonomy/terms/{term}/retire", DISTRICT),
    "admin.rename_term": ("POST", "/admin/taxonomy/terms/{term}/rename", DISTRICT),
    "admin.import_resources": ("GET", "/admin/import", SCHOOL_ADMINS),
    # uploading and editing one's own resources
    "upload.page": ("GET", "/upload", UPLOADERS),
    "upload.upload_file": ("POST", "/upload/files", UPLOADERS),  # allowed = 415 (an empty file)
    "upload.link": ("POST", "/upload/link", UPLOADERS),
    "upload.mine": ("GET", "/my/resources", SIGNED_IN),
    "upload.edit": ("GET", "/resources/{draft}/edit", OWNER),
    "upload.replace_file": ("POST", "/resources/{draft}/edit/file", OWNER),
    "upload.cover": ("POST", "/resources/{draft}/edit/cover", OWNER),
    "upload.delete": ("POST", "/resources/{draft}/delete", OWNER),
    "upload.new_version": ("POST", "/resources/{published}/new-version", OWNER),
    # the libraries: school_approved is in school A's library only, published in the district's
    "library.browse": ("GET", "/library", SIGNED_IN),
    "library.school": ("GET", "/library/schools/{school_a}", SCHOOL_A_MEMBERS),
    "library.resource": ("GET", "/resources/{school_approved}", SCHOOL_A_MEMBERS),
    "library.preview": ("GET", "/resources/{school_approved}/preview", SCHOOL_A_MEMBERS),
    "library.download": ("GET", "/resources/{school_approved}/download", SCHOOL_A_MEMBERS),
    "library.cover": ("GET", "/resources/{school_approved}/cover", SCHOOL_A_MEMBERS),
    "library.thumb": ("GET", "/resources/{school_approved}/thumb", SCHOOL_A_MEMBERS),
    "library.rate": ("POST", "/resources/{school_approved}/rating", SCHOOL_A_MEMBERS),
    "library.progress": ("POST", "/resources/{school_approved}/progress", SCHOOL_A_MEMBERS),
    # review and grading
    "search.results": ("GET", "/search?q=勾股", SIGNED_IN),
    "search.suggest": ("GET", "/search/suggest?q=gg", SIGNED_IN),
    "review.queue": ("GET", "/review", REVIEW_STAFF),
    "review.detail": ("GET", "/resources/{submitted}/review", OWNER_AND_SCHOOL_STAFF),
    "review.submit": ("POST", "/resources/{draft}/submit", OWNER),
    "review.school_decision": ("POST", "/resources/{submitted}/school-decision", {"admin.a", "admin"}),
    "review.recommend": ("POST", "/resources/{school_approved}/recommend", {"admin.a", "admin"}),
    "review.assign": ("POST", "/resources/{district_review}/panel", DISTRICT),
    "review.score": ("POST", "/resources/{district_review}/scores", {"reviewer"}),
    "review.decide": ("POST", "/resources/{district_review}/decision", DISTRICT),
    "review.withdraw": ("POST", "/resources/{published}/withdraw", DISTRICT),
    # the JSON API, with each role's token
    "api.resources": ("GET", "/api/v1/resources", SIGNED_IN),
    "api.my_resources": ("GET", "/api/v1/me/resources", SIGNED_IN),
    "api.resource": ("GET", "/api/v1/resources/{published}", SIGNED_IN),
    "api.resource_download": ("GET", "/api/v1/resources/{school_approved}/download", SCHOOL_A_MEMBERS),
    "api.resource_rating": ("PUT", "/api/v1/resources/{published}/rating", SIGNED_IN),
    "api.create_resource": ("POST", "/api/v1/resources", UPLOADERS),
    "api.update_resource": ("PATCH", "/api/v1/resources/{draft}", OWNER),
    "api.delete_resource": ("DELETE", "/api/v1/resources/{draft}", OWNER),
    "api.new_version": ("POST", "/api/v1/resources/{published}/versions", OWNER),
    "api.submit_resource": ("POST", "/api/v1/resources/{draft}/submit", OWNER),
    "api.decide_resource": ("POST", "/api/v1/resources/{submitted}/decisions", {"admin.a", "admin"}),
    "api.assign_panel": ("POST", "/api/v1/resources/{district_review}/panel", DISTRICT),
    "api.put_scores": ("PUT", "/api/v1/resources/{district_review}/scores", {"reviewer"}),
    "api.review_queue": ("GET", "/api/v1/review/queue", REVIEW_STAFF),
}
# The three plugins, enabled in the test app. {competition} is an open district competition.
PLUGIN_ROUTES = {
    "points.award": ("GET", "/points/award", DISTRICT),
    "points.mine": ("GET", "/points/", SIGNED_IN),
    "points.school": ("GET", "/points/school?school_id={school_a}", OWN_SCHOOL_ADMINS),
    "points.school_export": ("GET", "/points/school/export?school_id={school_a}", OWN_SCHOOL_ADMINS),
    "points.district": ("GET", "/points/district", DISTRICT),
    "points.district_export": ("GET", "/points/district/export", DISTRICT),
    "points.rules": ("GET", "/points/rules", DISTRICT),
    "points.terms": ("GET", "/points/terms", DISTRICT),
    "points.baseline_save": ("POST", "/points/terms/baselines", DISTRICT),
    "points_api.me": ("GET", "/api/v1/points/me", SIGNED_IN),
    "points_api.history": ("GET", "/api/v1/points/me/history", SIGNED_IN),
    "points_api.school_report": ("GET", "/api/v1/points/schools/{school_a}/report", OWN_SCHOOL_ADMINS),
    "points_api.district_ranking": ("GET", "/api/v1/points/district/ranking", DISTRICT),
    "awards.index": ("GET", "/awards/", SIGNED_IN),
    "awards.detail": ("GET", "/awards/{competition}", SIGNED_IN),
    "awards.new": ("GET", "/awards/new", DISTRICT),
    "awards.change_status": ("POST", "/awards/{competition}/status", DISTRICT),
    "awards.settings": ("GET", "/awards/{competition}/settings", DISTRICT),
    "awards.add_category": ("POST", "/awards/{competition}/categories", DISTRICT),
    "awards.remove_category": ("POST", "/awards/categories/{category}/delete", DISTRICT),
    "awards.add_judge": ("POST", "/awards/{competition}/panel", DISTRICT),
    "awards.remove_judge": ("POST", "/awards/{competition}/panel/{judge}/remove", DISTRICT),
    "awards.enter": ("GET", "/awards/{competition}/enter", SIGNED_IN),
    "awards.withdraw": ("POST", "/awards/entries/{entry}/withdraw", OWNER),
    "awards.school": ("GET", "/awards/{competition}/school?school={school_a}", SCHOOL_ADMINS),  # B's admin sees B's
    "awards.school_export": ("GET", "/awards/{competition}/school.xlsx?school={school_a}", SCHOOL_ADMINS),
    "awards.select_entry": ("POST", "/awards/entries/{entry}/select", OWN_SCHOOL_ADMINS),
    "awards.manage_judging": ("GET", "/awards/{competition}/judging", DISTRICT),
    "awards.assign_automatically": ("POST", "/awards/{competition}/assign", DISTRICT),
    "awards.assign_judge": ("POST", "/awards/entries/{entry}/judges", DISTRICT),
    "awards.unassign": ("POST", "/awards/assignments/{assignment}/remove", DISTRICT),
    "awards.judge_tasks": ("GET", "/awards/judging", SIGNED_IN),
    # a judge's own task: others are told it does not exist (HIDDEN), as they are of a certificate not theirs
    "awards.score": ("GET", "/awards/judging/{assignment}", {"reviewer"}),
    "awards.judged_file": ("GET", "/awards/judging/{assignment}/file", {"reviewer"}),
    "awards.preview": ("GET", "/awards/{competition}/results/preview", DISTRICT),
    "awards.adjust_prize": ("POST", "/awards/entries/{entry}/prize", DISTRICT),
    "awards.publish": ("POST", "/awards/{competition}/publish", DISTRICT),
    "awards.certificate_pdf": ("GET", "/awards/certificates/{certificate}.pdf", OWNER_AND_SCHOOL_STAFF),
    "awards.revoke": ("POST", "/awards/certificates/{certificate}/revoke", DISTRICT),
    "awards.school_certificates": ("GET", "/awards/school/certificates.zip?school={school_a}", SCHOOL_ADMINS),
    "awards.mine": ("GET", "/awards/mine", SIGNED_IN),
    "awards.my_record": ("GET", "/awards/mine/record.pdf", SIGNED_IN),
    "awards.school_record": ("GET", "/awards/school/record.xlsx?school={school_a}", SCHOOL_ADMINS),
    "awards_public.results": ("GET", "/awards/{results}/results", EVERYONE),
    "awards_public.verify": ("GET", "/verify/{certificate}", EVERYONE),
    "awards_public.verify_form": ("GET", "/verify?number={certificate}", EVERYONE),
    "sync_provincial.static": ("GET", "/provincial/static/sync_provincial.css", SIGNED_IN),
    "sync_provincial.taxonomy_page": ("GET", "/provincial/taxonomy", SIGNED_IN),
    "sync_provincial.quotas": ("GET", "/provincial/rounds/{round}/quotas", DISTRICT),
    "sync_provincial.rounds_index": ("GET", "/provincial/rounds", SCHOOL_ADMINS),
    "sync_provincial.new_round": ("GET", "/provincial/rounds/new", DISTRICT),
    "sync_provincial.edit_round": ("GET", "/provincial/rounds/{round}/edit", DISTRICT),
    "sync_provincial.round_status": ("POST", "/provincial/rounds/{round}/status", DISTRICT),
    "sync_provincial.round_detail": ("GET", "/provincial/rounds/{round}", SCHOOL_ADMINS),  # B's admin sees B's part
    "sync_provincial.propose": ("POST", "/provincial/rounds/{round}/proposals", SCHOOL_ADMINS),
    "sync_provincial.withdraw": ("POST", "/provincial/recommendations/{recommendation}/withdraw", OWN_SCHOOL_ADMINS),
    "sync_provincial.select": ("POST", "/provincial/recommendations/{recommendation}/select", DISTRICT),
    "sync_provincial.deselect": ("POST", "/provincial/recommendations/{recommendation}/deselect", DISTRICT),
    "sync_provincial.answer": ("POST", "/provincial/recommendations/{recommendation}/answer", DISTRICT),
    "sync_provincial.recommendation_form": ("GET", "/provincial/rounds/{round}/form.xlsx", DISTRICT),
    "sync_provincial.deliver": ("POST", "/provincial/rounds/{round}/deliver", DISTRICT),  # no API: refusal shown
    "sync_provincial.round_package": ("GET", "/provincial/rounds/{round}/package.zip", DISTRICT),
    "sync_provincial.metadata_package": ("GET", "/provincial/resources/{published}/metadata.zip", SIGNED_IN),
    "sync_provincial_oai.provider": ("GET", "/oai?verb=Identify", EVERYONE),  # harvesters have no account
    "sync_provincial_oai.nsr_schema": ("GET", "/oai/nsr.xsd", EVERYONE),
    "sync_provincial_harvest.index": ("GET", "/provincial/harvest/", DISTRICT),
    "sync_provincial_harvest.new_source": ("GET", "/provincial/harvest/new", DISTRICT),
    "sync_provincial_harvest.edit_source": ("GET", "/provincial/harvest/{source}/edit", DISTRICT),
    "sync_provincial_harvest.run_now": ("POST", "/provincial/harvest/{source}/run", DISTRICT),
    "sync_provincial_harvest.runs": ("GET", "/provincial/harvest/{source}/runs", DISTRICT),
}


@pytest.fixture
def app_config():
    return {"METRICS_TOKEN": "a-scraper-secret-of-the-district-0123456789"}  # metrics on, so the row is tried


HIDDEN = {"awards.score", "awards.judged_file", "awards.certificate_pdf"}  # others signed in get a 404


def open_competition(district) -> int:
    """An open competition with the reviewer on its panel."""
    from plugins.awards import judging, service

    competition = service.create_competition(district.district_admin, "区级优秀课件评比", 2026, "", "3:3:4", 80, None)
    service.set_status(district.district_admin, competition, "open")
    judging.add_judge(district.district_admin, competition, "reviewer")
    return competition.id


def awards_world(district, template: str) -> dict:
    """What the awards rows name: an entry of teacher.a's, the reviewer's task on one, a certificate of teacher.a's,
    a published competition; each in a competition of its own, made only when the row names it."""
    from plugins.awards import entries, judging, results, service
    from plugins.awards.models import Competition

    found = {"judge": district.reviewer.id}

    def competition_with_entry(status: str):
        admin = district.district_admin
        competition = service.create_competition(admin, f"评比 {db.session.query(Competition).count() + 1}", 2026)
        service.set_status(admin, competition, "open")
        entry = entries.enter(district.teacher_a, competition, add_resource(district.teacher_a, title="参评作品"),
                              competition.categories[0])
        if status == "open":
            return competition, entry
        service.set_status(admin, competition, "judging")
        judging.add_judge(admin, competition, "reviewer")
        assignment = judging.assign(admin, entry, "reviewer")
        if status == "judging":
            return competition, assignment
        judging.submit_scores(district.reviewer, assignment, ["25", "35", "20", "20"], ["好"] * 4)
        service.set_status(admin, competition, "closed")
        results.adjust(admin, entry, "first", "授权表")
        results.publish(admin, competition)
        return competition, entry

    if "{entry}" in template:
        found["entry"] = competition_with_entry("open")[1].id
    if "{category}" in template:
        found["category"] = competition_with_entry("open")[0].categories[0].id
    if "{assignment}" in template:
        found["assignment"] = competition_with_entry("judging")[1].id
    if "{certificate}" in template or "{results}" in template:
        competition, entry = competition_with_entry("published")
        found["results"] = competition.id
        from plugins.awards.models import Certificate
        found["certificate"] = db.session.query(Certificate.number).filter_by(entry_id=entry.id).scalar()
    return found


def all_routes():
    return {**ROUTES, **PLUGIN_ROUTES}


def test_every_route_is_in_the_table(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = endpoints - set(all_routes())
    assert not missing, f"add these routes to the authorization table: {sorted(missing)}"
    stale = set(all_routes()) - endpoints
    assert not stale, f"these table rows name routes that no longer exist: {sorted(stale)}"


def outcome(response) -> str:
    if response.status_code == 403:
        return "denied"
    if response.status_code == 401:
        return "denied"
    if response.status_code == 302 and "/login" in response.headers.get("Location", "") and "/login" != response.request.path:
        return "denied"
    if response.status_code == 404:
        return "not found"
    return "allowed"


def fresh_resource(district, state: str) -> int:
    """One of teacher.a's resources in ``state``, with its own file, cover and thumbnail."""
    from reslib.services import library

    image = library.store().put_bytes(b"\xff\xd8\xff\xe0 a stand-in for a JPEG")
    resource = add_resource(district.teacher_a, status=state, title=f"{state} 资源",
                            content=MINIMAL_PDF + state.encode(), cover_sha256=image, thumb_sha256=image)
    if state == "district_review":
        db.session.add(ReviewAssignment(resource_id=resource.id, reviewer_id=district.reviewer.id))
        db.session.commit()
    return resource.id


def rounds_world(district, template: str) -> dict:
    """What the recommendation rows name: a round open for proposals, and school A's proposal of one of
    teacher.a's published resources in it; made only when the row names them."""
    from plugins.sync_provincial import rounds

    if "{round}" not in template and "{recommendation}" not in template:
        return {}
    round_ = rounds.save_round(district.district_admin, None, {
        "title": "专题资源推荐", "platform": "国家中小学智慧教育平台", "year": "2026", "sections": ["德育"],
        "min_per_section": "0", "deadline": "2100-01-01"})
    resource = add_resource(district.teacher_a, title="推荐资源", content=MINIMAL_PDF + str(round_.id).encode())
    proposal = rounds.propose(district.admin_a, round_, resource, "德育", "爱国主义")
    return {"round": round_.id, "recommendation": proposal.id}


def harvest_world(district, template: str) -> dict:
    """What the harvest rows name: a source (never run: nothing listens at its address)."""
    from plugins.sync_provincial import harvest

    if "{source}" not in template:
        return {}
    source = harvest.save_source(district.district_admin, None, {
        "name": "省级平台", "kind": "oai", "base_url": "https://oai.example.org/oai", "metadata_prefix": "nsr",
        "mode": "link", "school_id": "district", "interval_hours": "24", "enabled": True})
    return {"source": source.id}


def fill_in(path: str, district, competition=None) -> str:
    values = {"target": district.pending_a.id, "school_a": district.school_a.id, "competition": competition,
              **awards_world(district, path), **rounds_world(district, path), **harvest_world(district, path)}
    if "{term}" in path:
        values["term"] = vocabularies.terms("subject")[0].id
    for state in RESOURCE_STATES:
        if "{" + state + "}" in path:
            values[state] = fresh_resource(district, state)
    return path.format(**values)


def user_of(district, role: str):
    """The test district's account for ``role`` (one of ROLES other than anonymous)."""
    return getattr(district, {"admin": "district_admin"}.get(role, role.replace(".", "_")))


def call(client, district, role: str, method: str, path: str):
    """As a browser with a session (pages) or with the role's token (the API)."""
    if path.startswith("/api/"):
        headers = {}
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {accounts.create_token(user_of(district, role), 'table')}"
        return client.open(path, method=method, headers=headers)
    browser = client.application.test_client()
    if role != "anonymous":
        login(browser, role)
    if method == "GET":
        return browser.get(path)
    token_page = "/login" if role == "anonymous" else "/dashboard"
    return browser.open(path, method=method, data={"csrf_token": csrf_token(browser, token_page)})


@pytest.mark.parametrize("endpoint", sorted(all_routes()))
def test_route_access_by_role(client, district, endpoint):
    method, template, allowed = all_routes()[endpoint]
    competition = open_competition(district) if "{competition}" in template else None
    for role in ROLES:
        path = fill_in(template, district, competition)  # afresh for each role: an allowed POST may change its target
        response = call(client, district, role, method, path)
        got = outcome(response)
        response.close()
        if endpoint == "main.revoke_token" or (endpoint in HIDDEN and role not in allowed):
            expected = "denied" if role == "anonymous" else "not found"
        else:
            expected = "allowed" if role in allowed else "denied"
        assert got == expected, f"{role} {method} {path}: {response.status_code}, expected {expected}"


def test_school_b_admin_exports_only_school_b(client, district):
    login(client, "admin.b")
    from io import BytesIO

    from openpyxl import load_workbook

    response = client.get(f"/admin/accounts/export?school_id={district.school_a.id}")
    sheet = load_workbook(BytesIO(response.data)).active
    usernames = {row[1] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert "student.b" in usernames and "student.a" not in usernames


def test_school_admin_lists_only_own_school(client, district):
    login(client, "admin.b")
    page = client.get(f"/admin/accounts?school_id={district.school_a.id}").get_data(as_text=True)
    assert "student.b" in page and "student.a" not in page
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert "account:student.a" not in audit
