"""One table of route × role: every route in app.url_map must be in it, and each role gets exactly what it says.

Roles: anonymous, a student and a teacher of school A, school A's admin (own school), school B's admin
(another school), a reviewer (a teacher of school B) and the district admin. Routes that act on an account
act on a pending student of school A.
"""
import pytest

from reslib.testing import csrf_token, login

ROLES = ("anonymous", "student.a", "teacher.a", "admin.a", "admin.b", "reviewer", "admin")
SIGNED_IN = set(ROLES) - {"anonymous"}
SCHOOL_ADMINS = {"admin.a", "admin.b", "admin"}
OWN_SCHOOL_ADMINS = {"admin.a", "admin"}
DISTRICT = {"admin"}
EVERYONE = set(ROLES)
TOKEN_ONLY = set()  # the JSON API takes tokens, not browser sessions

# endpoint: (method, path, roles allowed). {target} is the pending student of school A, {school_a} their school.
ROUTES = {
    "static": ("GET", "/static/css/reslib.css", EVERYONE),
    "main.index": ("GET", "/", EVERYONE),
    "main.healthz": ("GET", "/healthz", EVERYONE),
    "auth.login": ("GET", "/login", EVERYONE),
    "auth.register": ("GET", "/register", EVERYONE),
    "auth.set_language": ("POST", "/language/en", EVERYONE),
    "api.openapi": ("GET", "/api/v1/openapi.json", EVERYONE),
    "api.me": ("GET", "/api/v1/me", TOKEN_ONLY),
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
    "admin.plugins": ("GET", "/admin/plugins", DISTRICT),
}
# The three plugins, enabled in the test app. {competition} is an open district competition.
PLUGIN_ROUTES = {
    "points.award": ("GET", "/points/award", DISTRICT),
    "awards.index": ("GET", "/awards/", SIGNED_IN),
    "awards.detail": ("GET", "/awards/{competition}", SIGNED_IN),
    "awards.new": ("GET", "/awards/new", DISTRICT),
    "awards.change_status": ("POST", "/awards/{competition}/status", DISTRICT),
    "sync_provincial.static": ("GET", "/provincial/static/sync_provincial.css", SIGNED_IN),
    "sync_provincial.taxonomy_page": ("GET", "/provincial/taxonomy", SIGNED_IN),
    "sync_provincial.quotas": ("GET", "/provincial/quotas", DISTRICT),
}


def open_competition(district) -> int:
    from plugins.awards import service

    competition = service.create_competition(district.district_admin, "区级优秀课件评比", 2026, "", "3:3:4", 80, None)
    service.set_status(district.district_admin, competition, "open")
    return competition.id


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


@pytest.mark.parametrize("endpoint", sorted(all_routes()))
def test_route_access_by_role(client, district, endpoint):
    method, path, allowed = all_routes()[endpoint]
    competition = open_competition(district) if "{competition}" in path else None
    path = path.format(target=district.pending_a.id, school_a=district.school_a.id, competition=competition)
    for role in ROLES:
        browser = client.application.test_client()
        if role != "anonymous":
            login(browser, role)
        if method == "GET":
            response = browser.get(path)
        else:
            token_page = "/login" if role == "anonymous" else "/dashboard"
            response = browser.post(path, data={"csrf_token": csrf_token(browser, token_page)})
        got = outcome(response)
        response.close()
        if endpoint == "main.revoke_token":
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
