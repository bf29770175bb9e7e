"""The shell: Chinese pages, error pages, health, assets served locally."""
import re
from pathlib import Path

import pytest

from reslib.testing import login


def test_front_page_is_chinese_and_public(client):
    page = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "数字化教学资源库" in page and "实名注册" in page


def test_no_asset_comes_from_another_host(client, district):
    login(client, "admin")
    for path in ("/dashboard", "/admin/accounts", "/register"):
        page = client.get(path).get_data(as_text=True)
        for url in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert url.startswith("/") and not url.startswith("//"), f"{path} loads {url}"


def test_every_input_says_its_type_so_the_stylesheet_sizes_it_for_a_finger():
    # The stylesheet styles inputs by type; an input without one stays a browser-default sliver on a phone.
    roots = [Path(__file__).parent.parent / "reslib" / "templates", *Path(__file__).parent.parent.glob("plugins/*/templates")]
    untyped = [f"{template.name}: {tag}" for root in roots for template in root.rglob("*.html")
               for tag in re.findall(r"<input\b[^>]*>", template.read_text(encoding="utf-8")) if " type=" not in tag]
    assert not untyped, untyped


def test_pages_have_a_phone_viewport(client):
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in client.get("/login").get_data(as_text=True)


def test_404_and_403_pages_are_chinese(client, district):
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.get_data(as_text=True)
    login(client, "student.a")
    forbidden = client.get("/admin/schools")
    assert forbidden.status_code == 403 and "没有权限" in forbidden.get_data(as_text=True)


def test_500_page_is_chinese_and_api_errors_are_json(app, client):
    @app.route("/boom")
    @app.route("/api/v1/boom")
    def boom():
        raise RuntimeError("boom")

    app.logger.disabled = True
    response = client.get("/boom")
    assert response.status_code == 500 and "服务器出错了" in response.get_data(as_text=True)
    api = client.get("/api/v1/boom")
    assert api.status_code == 500 and api.json["error"]["code"] == "internal_error"


def test_a_write_that_lost_a_race_is_a_conflict_and_other_integrity_errors_stay_errors(app, client, district):
    """A double click's second request, stopped by a unique constraint, gets a 409 that says what happened;
    a constraint broken by a mistake in the code is still a 500."""
    from reslib.extensions import db
    from reslib.models import School

    @app.route("/twice")
    @app.route("/api/v1/twice")
    def twice():
        db.session.add(School(name=district.school_a.name, unit_id=district.school_a.unit_id))
        db.session.commit()

    @app.route("/broken")
    def broken():
        db.session.add(School(name="没有片区的学校"))
        db.session.commit()

    app.logger.disabled = True
    page = client.get("/twice")
    assert page.status_code == 409 and "按钮按了两次" in page.get_data(as_text=True)
    api = client.get("/api/v1/twice")
    assert api.status_code == 409 and api.json["error"]["code"] == "conflict"
    assert client.get("/broken").status_code == 500
    assert client.get("/healthz").status_code == 200  # the session was rolled back: the next request works


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/dashboard")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?next=")


def test_healthz_reports_database(client):
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}


def test_healthz_reports_unreachable_database(tmp_path):
    from reslib.testing import make_test_app

    app = make_test_app(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/missing/dir/x.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"


def test_sqlite_runs_in_wal_with_foreign_keys_and_a_busy_timeout(app):
    from sqlalchemy import text

    from reslib.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite settings")
    assert db.session.scalar(text("PRAGMA journal_mode")) == "wal"
    assert db.session.scalar(text("PRAGMA foreign_keys")) == 1
    assert db.session.scalar(text("PRAGMA busy_timeout")) == app.config["SQLITE_BUSY_TIMEOUT_MS"]


def test_the_district_admin_bar_keeps_the_everyday_pages_and_one_administration_menu(client, district):
    login(client, "admin")
    page = client.get("/dashboard").get_data(as_text=True)
    nav = page[page.index('id="site-nav"'):page.index('<div class="account">')]
    group = nav[nav.index('class="menu-group"'):nav.index("</details>")]
    bar = nav.replace(group, "")
    in_bar = re.findall(r"<a href=\"[^\"]+\"[^>]*>([^<]+)</a>", bar)
    in_group = re.findall(r"<a href=\"[^\"]+\"[^>]*>([^<]+)</a>", group)
    assert {"我的主页", "资源库", "上传资源", "我的资源", "审核"} <= set(in_bar) and len(in_bar) <= 9, in_bar
    assert "<summary>管理</summary>" in group
    assert {"账号管理", "学校管理", "批量导入", "分类词表", "积分管理", "资源推荐", "运行监控", "审计日志",
            "扩展功能"} <= set(in_group), in_group
    assert not set(in_bar) & set(in_group)


def test_a_teacher_has_no_administration_menu(client, district):
    login(client, "teacher.a")
    assert 'class="menu-group"' not in client.get("/dashboard").get_data(as_text=True)
