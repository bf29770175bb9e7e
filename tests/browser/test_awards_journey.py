"""A district competition from start to end in a real browser: the district admin sets it up and opens it; two
teachers of different schools enter; two judges of a third school score blind; the admin assigns, closes,
publishes; a teacher downloads their certificate; a visitor verifies it by the address in its QR code; the
admin revokes it and the verification page says so."""
import pypdfium2
import pytest
from playwright.sync_api import expect
from test_journeys import log_in

from reslib.extensions import db
from reslib.services.qrscan import find_codes
from reslib.testing import add_resource

pytestmark = pytest.mark.browser

TITLE = "2026 年度优秀微课评比"


@pytest.fixture
def extend_district():
    def extend(district):
        district.teacher_a.real_name, district.teacher_b.real_name = "孙丽华", "周文"
        add_resource(district.teacher_a, title="光的折射")
        add_resource(district.teacher_b, title="勾股定理")
        district.user("judge.c1", {"teacher"}, district.school_c, real_name="赵评审")
        district.user("judge.c2", {"teacher"}, district.school_c, real_name="钱评审")
        db.session.commit()

    return extend


def person(browser, base, username=None):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    if username:
        log_in(page, base, username)
    return page


def test_a_competition_from_set_up_to_a_verified_and_revoked_certificate(browser, live_server, tmp_path):
    base = live_server
    admin = person(browser, base, "admin")
    admin.goto(base + "/awards/new")
    admin.get_by_label("评比名称").fill(TITLE)
    admin.get_by_role("button", name="保存草稿").click()
    expect(admin.locator("h1")).to_contain_text(TITLE)
    competition_url = admin.url
    admin.get_by_role("button", name="开始征集").click()
    for judge in ("judge.c1", "judge.c2"):
        admin.locator("#panel-username").fill(judge)
        admin.get_by_role("button", name="加入评审专家").click()
    expect(admin.locator("#panel")).to_contain_text("钱评审")

    for username, title in (("teacher.a", "光的折射"), ("teacher.b", "勾股定理")):
        teacher = person(browser, base, username)
        teacher.goto(competition_url)
        teacher.get_by_role("link", name="报名参评").click()
        option = teacher.locator("#resource_id option", has_text=title)
        teacher.get_by_label("参评资源").select_option(option.get_attribute("value"))
        teacher.get_by_role("button", name="报名").click()
        expect(teacher.locator("#mine")).to_contain_text(title)
        teacher.context.close()

    admin.goto(competition_url)
    admin.get_by_role("button", name="截止征集，进入评审").click()
    admin.get_by_role("link", name="评审进度与分配").click()
    admin.get_by_role("button", name="自动分配评审").click()
    expect(admin.get_by_text("已分配评审，每件作品至少 2 位评审专家。")).to_be_visible()

    for judge, totals in (("judge.c1", {"光的折射": 25, "勾股定理": 15}), ("judge.c2", {"光的折射": 24, "勾股定理": 16})):
        page = person(browser, base, judge)
        page.goto(base + "/awards/judging")
        for title, first in totals.items():
            page.get_by_role("link", name=title).click()
            body = page.locator("main").inner_text()
            assert "孙丽华" not in body and "周文" not in body and "第一实验小学" not in body and "育才中学" not in body
            for index, points in enumerate((first, 30, 20, 20)):
                page.locator(f"#points-{index}").fill(str(points))
            page.locator("#comment-1").fill("内容准确，讲解清楚")
            page.get_by_role("button", name="提交评分").click()
            expect(page.get_by_text("评分已提交。")).to_be_visible()
        expect(page.locator("main")).to_contain_text("已评 2 件，共 2 件")
        page.context.close()

    admin.goto(competition_url)
    admin.get_by_role("button", name="评审结束，锁定评分").click()
    admin.get_by_role("link", name="获奖结果").click()
    admin.get_by_role("button", name="发布结果并生成证书").click()
    expect(admin.locator("main")).to_contain_text("光的折射")  # the public list: 2 entries, 1 prize (third)
    expect(admin.locator("main")).not_to_contain_text("勾股定理")

    teacher = person(browser, base, "teacher.a")
    teacher.goto(base + "/awards/mine")
    expect(teacher.locator("main")).to_contain_text("三等奖")
    with teacher.expect_download() as download:
        teacher.get_by_role("link", name="下载证书").click()
    path = tmp_path / "certificate.pdf"
    download.value.save_as(path)
    document = pypdfium2.PdfDocument(path.read_bytes())
    codes = find_codes(document[0].render(scale=2).to_pil())
    document.close()
    assert len(codes) == 1 and codes[0].startswith(base + "/verify/")

    visitor = person(browser, base)
    visitor.goto(codes[0])
    expect(visitor.locator("main")).to_contain_text("证书有效")
    expect(visitor.locator("main")).to_contain_text("孙丽华")

    admin.goto(codes[0])
    admin.get_by_text("撤销证书").click()
    admin.get_by_label("撤销理由").fill("经复核，作品与他人作品雷同")
    admin.get_by_role("button", name="撤销").click()
    expect(admin.locator("main")).to_contain_text("证书已撤销")

    visitor.reload()
    expect(visitor.locator("main")).to_contain_text("已撤销")
    expect(visitor.locator("main")).to_contain_text("不再有效")
