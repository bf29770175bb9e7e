"""Signing in and out: throttling, lockout, enumeration, CSRF, redirects, sessions."""
import time

import pytest
from sqlalchemy import select

from reslib.extensions import db
from reslib.models import AuditEvent, LoginSession
from reslib.testing import PASSWORD, csrf_token, login, make_test_app, post_form, running


def attempt(client, username, password):
    return client.post("/login", data={"csrf_token": csrf_token(client), "username": username, "password": password})


def test_login_lands_on_the_dashboard_and_is_audited(client, district):
    response = login(client, "teacher.a")
    assert response.headers["Location"] == "/dashboard"
    assert "你好，" in client.get("/dashboard").get_data(as_text=True)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login"))
    assert event.actor_name == "teacher.a" and event.address == "127.0.0.1"


def test_unknown_user_and_wrong_password_get_the_same_answer(client, district):
    unknown, wrong = attempt(client, "nobody", PASSWORD), attempt(client, "teacher.a", "Wrong#Pass99")
    assert unknown.status_code == wrong.status_code == 401

    def message(response):
        page = response.get_data(as_text=True)
        return page[page.index('class="flash'):].split("</div>")[0]

    assert message(unknown) == message(wrong)
    assert "用户名或密码错误" in message(wrong)
    failed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed")).all()
    assert len(failed) == 2 and all(e.result == "denied" for e in failed)


def test_repeated_failures_lock_the_account_even_against_the_right_password(client, app, district):
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        attempt(client, "teacher.a", "Wrong#Pass99")
    locked = attempt(client, "teacher.a", PASSWORD)
    assert locked.status_code == 401 and "锁定" in locked.get_data(as_text=True)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "login.locked")) is not None
    # The school admin sees the lock and lifts it.
    admin = client.application.test_client()
    login(admin, "admin.a")
    assert "已锁定" in admin.get("/admin/accounts").get_data(as_text=True)
    post_form(admin, f"/admin/accounts/{district.teacher_a.id}/unlock")
    assert attempt(client, "teacher.a", PASSWORD).status_code == 302


def test_login_is_throttled_per_address_and_per_account(tmp_path):
    app = make_test_app(tmp_path, LOGIN_RATE_LIMIT_PER_ADDRESS="3 per minute", LOGIN_RATE_LIMIT_PER_ACCOUNT="3 per minute")
    with running(app):
        db.create_all()
        client = app.test_client()
        codes = [attempt(client, f"user{i}", "Wrong#Pass99").status_code for i in range(4)]
        assert codes[:3] == [401, 401, 401] and codes[3] == 429
        page = attempt(client, "user9", "x").get_data(as_text=True)
        assert "操作太频繁" in page
        assert attempt(client, "user9", "x").headers["Retry-After"]
        # Per account: the same name from many addresses is held back too.
        token = csrf_token(client)
        names = [client.post("/login", data={"csrf_token": token, "username": "target", "password": "x"},
                             environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(5)]
        assert names[:3] == [401, 401, 401] and names[3:] == [429, 429]


def test_every_rate_limit_guards_only_requests_that_change_something(app):
    # Reads skip the limiter (extensions._reads_are_not_limited): a limit that also counted reads would
    # silently never apply to them, unless the view opts in with ratelimit.limit_reads (a public lookup).
    from flask_limiter.util import get_qualified_name

    from reslib.extensions import limiter

    assert not limiter.limit_manager.default_limits and not limiter.limit_manager.application_limits
    with app.test_request_context():
        limits = {endpoint: limiter.limit_manager.decorated_limits(get_qualified_name(view))
                  for endpoint, view in app.view_functions.items()}
    limited = {endpoint for endpoint, found in limits.items() if found}
    assert {"auth.sign_in", "auth.register"} <= limited
    opted_in = {endpoint for endpoint in limited if getattr(app.view_functions[endpoint], "limits_reads", False)}
    assert opted_in == {"awards_public.verify", "awards_public.verify_form"}  # counted on reads, as tested there
    for endpoint in limited - opted_in:
        served = {method.lower() for rule in app.url_map.iter_rules(endpoint) for method in rule.methods}
        for limit in limits[endpoint]:
            counted = set(limit.methods) if limit.methods else served  # a limit without methods counts all
            assert not {"get", "head"} & counted, endpoint


def test_login_without_csrf_token_is_refused(client, district):
    response = client.post("/login", data={"username": "teacher.a", "password": PASSWORD})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert db.session.scalar(select(LoginSession)) is None


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/evil.example", "javascript:alert(1)",
])
def test_next_only_follows_same_site_paths(client, district, target):
    token = csrf_token(client)
    response = client.post(f"/login?next={target}", data={"csrf_token": token, "username": "teacher.a", "password": PASSWORD})
    assert response.headers["Location"] == "/dashboard"


def test_next_same_site_path_is_followed(client, district):
    token = csrf_token(client)
    response = client.post("/login?next=/profile", data={"csrf_token": token, "username": "teacher.a", "password": PASSWORD})
    assert response.headers["Location"] == "/profile"


def test_session_is_renewed_at_login_so_a_planted_session_gains_nothing(client, district):
    client.get("/login")
    with client.session_transaction() as planted:
        planted["lang"] = "zh_CN"
        planted["attacker"] = "value"
    before = client.get_cookie("session").value
    login(client, "teacher.a")
    with client.session_transaction() as after:
        assert "attacker" not in after and after["_user_id"].startswith(f"{district.teacher_a.id}:")
    assert client.get_cookie("session").value != before


def test_the_session_set_at_login_carries_a_new_csrf_secret(client, district):
    client.get("/login")
    with client.session_transaction() as before:
        old_secret = before["csrf_token"]
    login(client, "teacher.a")
    with client.session_transaction() as after:
        assert after["csrf_token"] != old_secret  # renewed with the session, not carried over
    # so the first page after signing in does not have to rewrite the cookie to add one
    assert client.get("/dashboard").headers.get("Set-Cookie") is None


def test_logout_ends_the_session_even_for_a_copied_cookie(client, district):
    login(client, "teacher.a")
    stolen = client.get_cookie("session").value
    post_form(client, "/logout")
    assert client.get("/dashboard").status_code == 302
    thief = client.application.test_client()
    thief.set_cookie("session", stolen)
    assert thief.get("/dashboard").status_code == 302  # the server ended that login session
    audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "logout"))
    assert audit.actor_name == "teacher.a"


def test_logout_needs_csrf(client, district):
    login(client, "teacher.a")
    assert client.post("/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200


def test_idle_session_is_signed_out(client, app, district):
    login(client, "teacher.a")
    with client.session_transaction() as sess:
        sess["seen"] = int(time.time()) - app.config["IDLE_TIMEOUT_MINUTES"] * 60 - 5
    response = client.get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.get("/dashboard").status_code == 302


def test_signing_out_for_idleness_keeps_the_language_the_browser_chose(client, app, district):
    login(client, "teacher.a")
    with client.session_transaction() as sess:
        sess["lang"] = "en"
        sess["seen"] = int(time.time()) - app.config["IDLE_TIMEOUT_MINUTES"] * 60 - 5
    login_page = client.get("/dashboard", follow_redirects=True).get_data(as_text=True)
    assert '<html lang="en"' in login_page and "signed out" in login_page
    with client.session_transaction() as sess:
        assert sess["lang"] == "en" and "_user_id" not in sess and "seen" not in sess


def test_disabling_an_account_ends_its_sessions(client, district):
    login(client, "teacher.a")
    admin = client.application.test_client()
    login(admin, "admin.a")
    post_form(admin, f"/admin/accounts/{district.teacher_a.id}/disable", {"reason": "调离本校"})
    assert client.get("/dashboard").status_code == 302
    refused = attempt(client.application.test_client(), "teacher.a", PASSWORD)
    assert refused.status_code == 403 and "账号已停用" in refused.get_data(as_text=True)


def test_admin_password_reset_forces_a_change_at_next_login(client, district):
    admin = client.application.test_client()
    login(admin, "admin.a")
    page = post_form(admin, f"/admin/accounts/{district.student_a.id}/reset-password")
    follow = admin.get(page.headers["Location"]).get_data(as_text=True)
    temporary = follow.split("临时密码：")[1].split(" ")[0]
    login(client, "student.a", temporary)
    assert client.get("/dashboard").headers["Location"].endswith("/password")
    response = post_form(client, "/password", {"current_password": temporary, "password": "New#Lesson2026",
                                               "confirm": "New#Lesson2026"}, token_page="/password")
    assert response.headers["Location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_cookies_are_http_only_and_same_site(client, district):
    response = login(client, "teacher.a")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_security_headers_on_every_page(client):
    headers = client.get("/login").headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
