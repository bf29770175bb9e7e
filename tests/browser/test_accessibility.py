"""Every main page and every page of each user's menu, as each kind of user sees it on a phone and on a
classroom screen, passes axe-core's
accessibility rules (WCAG 2.x A and AA: labels, contrast, names, landmarks, keyboard reach), and on the
phone nothing sticks out sideways."""
import pytest
from axe_playwright_python.sync_playwright import Axe
from test_journeys import VIEWPORTS, log_in

from reslib.extensions import db
from reslib.models import Resource
from reslib.testing import add_resource

pytestmark = pytest.mark.browser

CLASSROOM = {"width": 1920, "height": 1080}
PAGES = {  # who: the pages they use most; {published}, {submitted} and {draft} are the resources below
    None: ["/", "/login", "/register", "/verify"],
    "student.a": ["/dashboard", "/library", "/resources/{published}", "/search?q=勾股", "/search?q=没有这种资源",
                  "/profile"],
    "teacher.a": ["/upload", "/my/resources", "/resources/{draft}/edit", "/resources/{submitted}", "/password",
                  "/awards/{competition}/enter", "/awards/mine"],
    "admin.a": ["/dashboard", "/review", "/resources/{submitted}/review", "/admin/accounts",
                "/admin/verifications", "/admin/roster", "/provincial/rounds/{round}"],
    "admin": ["/dashboard", "/admin/schools", "/admin/audit", "/admin/taxonomy", "/admin/import", "/admin/plugins",
              "/library/schools/{school}", "/awards/{competition}", "/awards/{competition}/settings",
              "/provincial/rounds/{round}", "/provincial/rounds/new", "/provincial/rounds/{round}/quotas",
              "/provincial/harvest/new"],
}


@pytest.fixture
def extend_district():
    def resources(district):
        ids = {status: add_resource(district.teacher_a, status=status, title=f"勾股定理（{status}）").id
               for status in ("published", "submitted", "draft")}
        ids["school"] = district.school_a.id
        from plugins.awards import service

        competition = service.create_competition(district.district_admin, "2026 年度优秀微课评比", 2026)
        service.set_status(district.district_admin, competition, "open")
        ids["competition"] = competition.id
        from plugins.sync_provincial import rounds

        round_ = rounds.save_round(district.district_admin, None, {
            "title": "2026 专题资源推荐", "platform": "国家中小学智慧教育平台", "year": "2026", "sections": ["德育"],
            "min_per_section": "10", "deadline": "2100-01-01"})
        rounds.propose(district.admin_a, round_, db.session.get(Resource, ids["published"]), "德育", "爱国主义")
        ids["round"] = round_.id
        resources.ids = ids

    return resources


@pytest.mark.parametrize("viewport", [VIEWPORTS["phone"], CLASSROOM], ids=["phone", "classroom"])
def test_main_pages_pass_axe(live_server, browser, extend_district, viewport):
    axe = Axe()
    violations = []
    for username, paths in PAGES.items():
        context = browser.new_context(viewport=viewport, locale="zh-CN")
        page = context.new_page()
        if username:
            log_in(page, live_server, username)
            page.wait_for_url("**/dashboard")
        # and every page of their menu, so the pages plugins add are held to the same rules
        menu = [href.removeprefix(live_server) for href in page.eval_on_selector_all("#site-nav a", "links => links.map(a => a.href)")]
        for path in dict.fromkeys([*paths, *menu]):
            response = page.goto(live_server + path.format(**extend_district.ids))
            assert response.status == 200, f"{username} {path}: {response.status}"
            scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll_width > inner_width:
                violations.append(f"{username} {path}: {scroll_width}px wide in a {inner_width}px window")
            for rule in axe.run(page).response["violations"]:
                nodes = "; ".join(" ".join(map(str, node["target"])) for node in rule["nodes"][:3])
                violations.append(f"{username} {path}: {rule['id']} ({rule['impact']}) {rule['help']} — {nodes}")
        context.close()
    assert not violations, "\n".join(violations)
