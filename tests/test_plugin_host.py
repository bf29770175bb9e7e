"""The plugin host: enabling by name, a throwaway plugin using every hook, and the app without plugins."""
import inspect
import re
from pathlib import Path

import pytest
from flask import Blueprint
from markupsafe import Markup
from sqlalchemy import select

from reslib import hookimpl, hookspecs
from reslib.extensions import db
from reslib.models import User
from reslib.plugins import PluginError, hooks
from reslib.testing import login, make_test_app, post_form

HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(fn, "reslib_spec")]


class ThrowawayPlugin:
    """A plugin a district might write: a page, a menu link, panels, and a listener."""

    def __init__(self):
        self.account_changes = []
        self.resource_changes = []
        self.usage = []
        self.jobs_run = []
        self.awards = []

    @hookimpl
    def config_defaults(self):
        return {"THROWAWAY_GREETING": "你好，插件", "DISTRICT_NAME": "never wins over the district's own"}

    @hookimpl
    def register_blueprints(self, app):
        bp = Blueprint("throwaway", __name__)

        @bp.route("/throwaway")
        def hello():
            return app.config["THROWAWAY_GREETING"]

        app.register_blueprint(bp)

    @hookimpl
    def menu_links(self, user):
        return [{"label": "插件页面", "endpoint": "throwaway.hello", "order": 50}] if user.is_authenticated else []

    @hookimpl
    def dashboard_panels(self, user):
        return [Markup("<p>面板：{}</p>").format(user.real_name)]

    @hookimpl
    def profile_panels(self, user, viewer):
        return Markup("<p>资料面板 {} 看 {}</p>").format(viewer.username, user.username)

    @hookimpl
    def account_changed(self, user, change, actor):
        self.account_changes.append((user.username, change, getattr(actor, "username", None)))

    @hookimpl
    def register_jobs(self, queue):
        queue.task("throwaway.note")(self.jobs_run.append)

    @hookimpl
    def resource_changed(self, resource, change, actor):
        self.resource_changes.append((resource.title, change, getattr(actor, "username", None)))

    @hookimpl
    def review_checks(self, resource, viewer):
        return [{"check": "throwaway.title_length", "ok": len(resource.title) <= 10,
                 "message": f"标题不超过 10 个字（{viewer.username} 在看）"}]

    @hookimpl
    def resource_panels(self, resource, user):
        return [Markup("<p>资源面板：{} 看《{}》</p>").format(user.username, resource.title)]

    @hookimpl
    def usage_recorded(self, event):
        self.usage.append((event.kind, event.user_id, event.resource_id))

    @hookimpl
    def audit_actions(self):
        return {"throwaway.noted": "插件记了一笔"}

    @hookimpl
    def award_granted(self, award):
        self.awards.append(("granted", award["key"]))

    @hookimpl
    def award_revoked(self, award):
        self.awards.append(("revoked", award["key"]))

    @hookimpl
    def granted_awards(self):
        return [{"key": "throwaway:1", "title": "一等奖作品", "level": "first", "people": [], "at": None}]

    @hookimpl
    def recommendation_accepted(self, selection):
        self.awards.append(("selected", selection["key"]))

    @hookimpl
    def demo_loaded(self):
        return ["用 dc01.t1 登录，打开插件页面。"]

    @hookimpl
    def can_access(self, user, action, target):
        return False if action == "plugins.view" else None


@pytest.fixture
def plugin():
    return ThrowawayPlugin()


@pytest.fixture
def app_config(plugin):
    return {"EXTRA_PLUGINS": [plugin]}


def test_hook_config_defaults(app):
    assert app.config["THROWAWAY_GREETING"] == "你好，插件"
    assert app.config["DISTRICT_NAME"] == "东昌区教育局"  # the district's setting wins


def test_hook_register_blueprints(client):
    assert client.get("/throwaway").get_data(as_text=True) == "你好，插件"


def test_hook_menu_links(client, district):
    assert "插件页面" not in client.get("/").get_data(as_text=True)
    login(client, "teacher.a")
    assert '<a href="/throwaway">插件页面</a>' in client.get("/dashboard").get_data(as_text=True)


def test_hook_dashboard_panels(client, district):
    login(client, "teacher.a")
    assert f"面板：{district.teacher_a.real_name}" in client.get("/dashboard").get_data(as_text=True)


def test_hook_profile_panels(client, district):
    login(client, "admin.a")
    page = client.get(f"/admin/accounts/{district.student_a.id}").get_data(as_text=True)
    assert "资料面板 admin.a 看 student.a" in page


def test_hook_account_changed(client, district, plugin):
    login(client, "admin.a")
    post_form(client, f"/admin/accounts/{district.pending_a.id}/verify")
    assert plugin.account_changes == [("pending.a", "verified", "admin.a")]


def test_hook_can_access(client, district):
    login(client, "admin")
    assert client.get("/admin/plugins").status_code == 403  # the plugin narrowed the core's grant
    assert client.get("/admin/schools").status_code == 200  # and nothing else


def test_hook_register_jobs(app, plugin):
    from reslib.jobs import queue

    queue().enqueue("throwaway.note", "第一件事")
    assert plugin.jobs_run == []  # queued, not run in the request
    assert queue().run_pending() == 1
    assert plugin.jobs_run == ["第一件事"]


def test_hook_resource_changed(app, client, district, plugin):
    from urllib.parse import quote

    from reslib.testing import MINIMAL_PDF, csrf_token

    login(client, "teacher.a")
    client.post("/upload/files", data=MINIMAL_PDF, headers={
        "X-CSRFToken": csrf_token(client, "/dashboard"), "X-File-Name": quote("新课件.pdf"),
        "Content-Type": "application/octet-stream"})
    assert plugin.resource_changes == [("新课件", "created", "teacher.a")]
    app.extensions["reslib.queue"].run_pending()
    assert plugin.resource_changes[-1] == ("新课件", "processed", None)


def test_hook_review_checks(app, district):
    from reslib.services import review
    from reslib.testing import add_resource

    resource = add_resource(district.teacher_a, status="submitted", title="一个标题很长很长很长的资源")
    findings = {f["check"]: f for f in review.checks_for(resource, district.admin_a)}
    assert findings["throwaway.title_length"]["ok"] is False
    assert "admin.a 在看" in findings["throwaway.title_length"]["message"]  # the reader reaches the plugin


def test_hook_resource_panels(client, district):
    from reslib.testing import add_resource

    resource = add_resource(district.teacher_a, status="published", title="勾股定理")
    login(client, "student.b")
    assert "资源面板：student.b 看《勾股定理》" in client.get(f"/resources/{resource.id}").get_data(as_text=True)


def test_hook_usage_recorded(client, district, plugin):
    from reslib.testing import add_resource

    resource = add_resource(district.teacher_a, status="published")
    login(client, "student.b")
    client.get(f"/resources/{resource.id}")
    assert plugin.usage == [("view", district.student_b.id, resource.id)]


def test_hook_audit_actions(client, district):
    from reslib.extensions import db
    from reslib.services import audit

    audit.record("throwaway.noted", actor=district.teacher_a, target=district.teacher_a)
    audit.record("login.failed", target="account:teacher.a", result="denied")
    audit.record("review.publish", actor=district.district_admin, target="resource:1")
    db.session.commit()
    login(client, "admin")
    page = client.get("/admin/audit").get_data(as_text=True)
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S) for row in re.findall(r"<tr class=\"result-.*?</tr>", page, flags=re.S)]
    named = {cells[3]: cells[5] for cells in rows}  # 操作 and 结果
    assert {"区级评审通过，入库": "成功", "登录失败": "拒绝", "插件记了一笔": "成功"}.items() <= named.items(), named


def test_hook_award_granted(app, plugin):
    # Announced by the plugin that grants prizes (awards), heard by any other (points) without an import.
    hooks().award_granted(award={"key": "throwaway:1", "title": "作品", "level": "first", "people": [], "at": None})
    assert plugin.awards == [("granted", "throwaway:1")]


def test_hook_award_revoked(app, plugin):
    hooks().award_revoked(award={"key": "throwaway:1", "title": "作品", "level": "first", "people": [], "at": None,
                                 "revoked_at": None})
    assert plugin.awards == [("revoked", "throwaway:1")]


def test_hook_recommendation_accepted(app, plugin):
    hooks().recommendation_accepted(selection={"key": "throwaway:rec:1", "title": "作品", "platform": "省级平台",
                                               "people": [], "at": None})
    assert plugin.awards == [("selected", "throwaway:rec:1")]


@pytest.mark.parametrize("app_config", [{"PLUGINS": [], "EXTRA_PLUGINS": [ThrowawayPlugin()]}])
def test_hook_demo_loaded(app, app_config):
    from reslib.services import demo

    rows, added = demo.load_demo()
    assert "dc01.t1" in {row["username"] for row in rows}
    assert added == ["用 dc01.t1 登录，打开插件页面。"]


def test_hook_granted_awards(app):
    assert [award["key"] for batch in hooks().granted_awards() for award in batch] == ["throwaway:1"]


def test_every_hook_is_documented_and_tested():
    doc = (Path(__file__).parent.parent / "docs" / "hooks.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"^## `(\w+)\(", doc, flags=re.M))
    assert set(HOOKS) == documented, f"docs/hooks.md out of step: {set(HOOKS) ^ documented}"
    tests = set(re.findall(r"def test_hook_(\w+)\(", Path(__file__).read_text(encoding="utf-8")))
    assert set(HOOKS) <= tests, f"hooks without a test_hook_<name>: {set(HOOKS) - tests}"


def test_enabled_plugin_that_is_not_installed_stops_start_up(tmp_path):
    with pytest.raises(PluginError, match="没有安装"):
        make_test_app(tmp_path, PLUGINS=["points", "no_such_plugin"])


def test_plugins_enabled_from_a_comma_separated_environment_value(tmp_path, monkeypatch):
    monkeypatch.setenv("RESLIB_PLUGINS", "points, awards")
    from reslib import create_app

    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "ID_NUMBER_KEY": "y"})
    names = {name for name, _plugin in app.extensions["reslib.plugins"].list_name_plugin()}
    assert {"points", "awards"} <= names and "sync_provincial" not in names


def test_misspelt_hook_fails_at_start_up(tmp_path):
    class Misspelt:
        @hookimpl
        def menu_link(self, user):  # not a hook
            return []

    with pytest.raises(PluginError):
        make_test_app(tmp_path, EXTRA_PLUGINS=[Misspelt()])


@pytest.mark.parametrize("app_config", [{"PLUGINS": []}])
def test_the_app_works_with_every_plugin_disabled(client, district, app_config):
    login(client, "admin")
    for path in ("/dashboard", "/profile", "/admin/accounts", "/admin/verifications", "/admin/audit", "/admin/plugins"):
        assert client.get(path).status_code == 200, path
    post_form(client, f"/admin/accounts/{district.pending_a.id}/verify")
    assert db.session.scalar(select(User.status).where(User.id == district.pending_a.id)) == "active"


def test_plugins_command_lists_installed_enabled_and_hooks(runner):
    output = runner.invoke(args=["plugins"]).output
    assert "enabled  points:" in output and "register_blueprints" in output
    assert "core     reslib.default_plugins.navigation: menu_links" in output


class ReadOnlyDistrict:
    """A district that freezes its settings: no awards, competitions or quota changes, by anyone."""

    @hookimpl
    def audit_actions(self):
        return {"throwaway.noted": "插件记了一笔"}

    @hookimpl
    def award_granted(self, award):
        self.awards.append(("granted", award["key"]))

    @hookimpl
    def award_revoked(self, award):
        self.awards.append(("revoked", award["key"]))

    @hookimpl
    def granted_awards(self):
        return [{"key": "throwaway:1", "title": "一等奖作品", "level": "first", "people": [], "at": None}]

    @hookimpl
    def can_access(self, user, action, target):
        return False if action == "district.manage" else None


@pytest.mark.parametrize("app_config", [{"EXTRA_PLUGINS": [ReadOnlyDistrict()]}])
def test_plugins_ask_the_one_policy_for_district_settings(client, district, app_config):
    login(client, "admin")
    for path in ("/points/award", "/awards/new", "/provincial/rounds/new", "/provincial/harvest/"):
        assert client.get(path).status_code == 403, path
    assert client.get("/admin/schools").status_code == 200  # only what the plugin named is refused


@pytest.mark.parametrize("app_config, on", [({}, True), ({"PLUGINS": ["points"]}, False)])
def test_the_plugins_page_says_what_each_does_for_the_district_and_whether_it_is_on(client, district, app_config, on):
    login(client, "admin")
    page = client.get("/admin/plugins").get_data(as_text=True)
    for title in ("积分制评价", "区级评比与证书", "对接省级、国家平台"):
        assert title in page
    awards_card = page[page.index("区级评比与证书"):page.index("</section>", page.index("区级评比与证书"))]
    assert ("已启用" if on else "未启用") in awards_card and "颁发可扫码核验的数字证书" in awards_card
    assert "RESLIB_PLUGINS" not in page and "menu_links" not in page and "register_blueprints" not in page
