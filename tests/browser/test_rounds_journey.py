"""A recommendation round in a real browser: the district admin opens it and sets the quota; two schools propose;
the district selects within the quota (the second is refused), exports the 推荐表, delivers through a platform's API
started by the test, and the platform's answer comes back on the round and on the author's resource page."""
import io
import json
import threading

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect
from test_awards_journey import person
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from reslib.testing import MINIMAL_PDF, ready_resource

pytestmark = pytest.mark.browser


@pytest.fixture
def extend_district():
    def extend(district):
        for owner, title in ((district.teacher_a, "红色家书诵读"), (district.teacher_b, "家乡的英雄")):
            ready_resource(owner, title=title, status="published", content=MINIMAL_PDF + title.encode())

    return extend


class Platform:
    """Receives what is delivered; says "online" for what it holds once the test sets ``online``."""

    def __init__(self):
        self.received, self.online = {}, None

    def __call__(self, environ, start_response):
        request = Request(environ)
        if request.method == "POST":
            self.received[request.headers["Idempotency-Key"]] = request.get_json()
            answer = {"status": "received"}
        elif self.online:
            answer = {"status": "online", "url": self.online}
        else:
            answer = {"status": "received"}
        return Response(json.dumps(answer), mimetype="application/json")(environ, start_response)


@pytest.fixture
def platform(live_app):
    served = Platform()
    server = make_server("127.0.0.1", 0, served, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    live_app.config.update(HARVEST_ALLOW_PRIVATE_HOSTS=["127.0.0.1"], PLATFORM_RETRY_SECONDS=0)
    served.url = f"http://127.0.0.1:{server.server_port}/api/recommendations"
    yield served
    server.shutdown()


def test_a_round_from_opening_to_the_platforms_answer(browser, live_server, platform):
    base = live_server
    admin = person(browser, base, "admin")
    admin.goto(base + "/provincial/rounds/new")
    admin.get_by_label("推荐活动名称").fill("2026 国家中小学智慧教育平台专题资源")
    admin.get_by_label("截止日期").fill("2099-07-04")
    admin.get_by_label("平台接收接口地址（选填；不填则下载材料包手工报送）").fill(platform.url)
    admin.locator("#contact_unit").fill("东昌区教育局")
    admin.get_by_role("button", name="保存").click()
    expect(admin.locator("h1")).to_contain_text("2026 国家中小学智慧教育平台专题资源")
    round_url = admin.url
    admin.get_by_role("link", name="分配名额").click()
    admin.get_by_label("东城片区 德育").fill("1")  # schools A and B share the area's one place
    admin.get_by_role("button", name="保存").click()
    expect(admin.locator(".flash, [role=status], .messages").first).to_contain_text("已保存推荐名额")

    for username, title in (("admin.a", "红色家书诵读"), ("admin.b", "家乡的英雄")):
        school = person(browser, base, username)
        school.goto(round_url)
        school.get_by_label("推荐的资源").select_option(label=title)
        school.get_by_label("拟上线版块 · 栏目").select_option(label="德育 · 爱国主义")
        school.get_by_role("button", name="推荐", exact=True).click()
        expect(school.locator("#recommendations")).to_contain_text(title)
        expect(school.locator("#recommendations")).to_contain_text("学校已推荐")
        school.context.close()

    admin.goto(round_url)
    expect(admin.locator("#recommendations")).to_contain_text("符合")
    admin.locator("tr", has_text="红色家书诵读").get_by_role("button", name="选定").click()
    expect(admin.locator("main")).to_contain_text("1 / 1")
    admin.locator("tr", has_text="家乡的英雄").get_by_role("button", name="选定").click()
    expect(admin.locator("main")).to_contain_text("名额已用完")

    with admin.expect_download() as download:
        admin.get_by_role("link", name="导出推荐表（Excel）").click()
    with open(download.value.path(), "rb") as saved:
        form = load_workbook(io.BytesIO(saved.read()))["推荐表"]
    assert [row[1] for row in form.iter_rows(min_row=2, values_only=True)] == ["红色家书诵读"]

    admin.get_by_role("button", name="通过平台接口报送并取回结果").click()
    expect(admin.locator("tr", has_text="红色家书诵读")).to_contain_text("已报送平台")
    assert [item["metadata"]["title"] for item in platform.received.values()] == ["红色家书诵读"]
    platform.online = "https://basic.smartedu.cn/resource/2026-1"
    admin.get_by_role("button", name="通过平台接口报送并取回结果").click()
    expect(admin.locator("tr", has_text="红色家书诵读")).to_contain_text("已上线")

    author = person(browser, base, "teacher.a")
    author.goto(base + "/my/resources")
    author.get_by_role("link", name="红色家书诵读").first.click()
    expect(author.locator("main")).to_contain_text("已上线")
    expect(author.get_by_role("link", name="在平台上查看")).to_have_attribute("href", platform.online)
