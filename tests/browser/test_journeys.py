"""A new student's first day, in a real browser, on a desktop and on a phone."""
import pytest
from playwright.sync_api import expect

from reslib.testing import PASSWORD

pytestmark = pytest.mark.browser

VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
SCHOOL = "第一实验小学"  # school_a of reslib.testing.District
SCHOOL_ADMIN = "admin.a"
STUDENT_NAME = "阿依古丽·买买提"


@pytest.fixture(params=list(VIEWPORTS))
def device(request):
    return request.param


@pytest.fixture
def page(browser, device):
    phone = device == "phone"
    context = browser.new_context(viewport=VIEWPORTS[device], is_mobile=phone, has_touch=phone,
                                  device_scale_factor=2 if phone else 1, locale="zh-CN")
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def assert_fits_phone(page, device):
    """Nothing sticks out sideways: a phone user never has to scroll left and right."""
    if device != "phone":
        return
    # Pinned to the phone's width too: mobile Chromium zooms a too-wide page out to fit, so
    # window.innerWidth alone grows along with the overflow.
    width = VIEWPORTS["phone"]["width"]
    scroll_width, inner_width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll_width <= inner_width == width, f"{page.url} is {scroll_width}px wide on a {width}px phone"


def header(page, device):
    """The header's links and buttons; on a phone they sit behind the 菜单 button."""
    page.wait_for_load_state()  # the stylesheet decides what is hidden, the script opens the menu
    menu = page.get_by_role("button", name="菜单")
    if device == "phone":
        menu.click()
        expect(menu).to_have_attribute("aria-expanded", "true")
    else:
        expect(menu).to_be_hidden()
    return page.locator(".site-header")


def log_in(page, base, username, password=PASSWORD):
    page.goto(base + "/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.locator("main").get_by_role("button", name="登录").click()


def test_student_registers_is_verified_by_school_admin_and_signs_in(live_server, page, device, tmp_path):
    base = live_server

    page.goto(base + "/register")
    assert_fits_phone(page, device)
    page.get_by_label("真实姓名").fill(STUDENT_NAME)
    page.get_by_role("radio", name="学生").check()
    page.get_by_label("学校", exact=True).select_option(label=SCHOOL)
    page.get_by_label("学号或工号").fill("S2024-07")
    page.get_by_label("用户名").fill("ayguli")
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_label("再次输入密码").fill(PASSWORD)
    page.get_by_role("checkbox", name="我确认以上信息真实").check()
    page.get_by_role("button", name="提交注册").click()
    expect(page.get_by_role("heading", name="注册已提交，等待学校审核")).to_be_visible()
    expect(page.locator("main")).to_contain_text(SCHOOL)

    log_in(page, base, "ayguli")
    expect(page.get_by_role("alert")).to_contain_text("账号正在等待学校管理员审核")

    log_in(page, base, SCHOOL_ADMIN)
    expect(page.get_by_role("heading", name="你好，")).to_be_visible()
    header(page, device).locator("summary", has_text="管理").click()  # the administration pages' one menu
    page.locator(".site-header").get_by_role("link", name="待审核账号", exact=True).click()
    expect(page.get_by_role("heading", name="待审核账号")).to_be_visible()
    request = page.locator(".queue-item").filter(has_text=STUDENT_NAME)
    expect(request).to_contain_text("S2024-07")
    assert_fits_phone(page, device)
    if device == "desktop":
        page.screenshot(path=tmp_path / "desktop-verifications.png", full_page=True)
    request.get_by_role("button", name="通过", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已通过审核")
    expect(page.locator(".queue-item").filter(has_text=STUDENT_NAME)).to_have_count(0)
    header(page, device).get_by_role("button", name="退出", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("已安全退出")

    log_in(page, base, "ayguli")
    expect(page.get_by_role("heading", name=f"你好，{STUDENT_NAME}")).to_be_visible()
    assert_fits_phone(page, device)
    if device == "phone":
        page.screenshot(path=tmp_path / "phone-dashboard.png", full_page=True)


def test_wrong_password_gets_the_generic_message_in_chinese(live_server, page):
    log_in(page, live_server, "student.a", "not-the-password")
    error = page.get_by_role("alert")
    expect(error).to_contain_text("用户名或密码错误")
    wrong_password = error.inner_text()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()

    # An unknown name gets the very same words, so the form does not reveal who has an account.
    log_in(page, live_server, "nobody.here", "not-the-password")
    expect(page.get_by_role("alert")).to_have_text(wrong_password)


@pytest.mark.parametrize("width", [1024, 1920])  # a laptop and a classroom screen
def test_the_longest_menu_wraps_without_breaking_the_name_into_a_column(live_server, browser, width):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "admin")  # the district admin has the most links of anyone
    expect(page.get_by_role("heading", name="你好，")).to_be_visible()
    for name in ("王建国", "退出"):
        text = page.locator(".site-header .account").get_by_text(name, exact=True)
        lines = text.evaluate("e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }")
        assert lines == 1, f"{name} is broken over {lines} lines at {width}px wide"
    context.close()


def test_a_form_on_its_way_is_not_sent_twice(live_server, browser):
    """An impatient second click, while the first is still on its way over a slow network, sends nothing."""
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("student.a")
    page.get_by_label("密码").fill(PASSWORD)
    sent = []  # the sign-in requests the server never answers: the network is that slow
    page.route("**/login", lambda route: sent.append(route.request) if route.request.method == "POST"
               else route.continue_())
    # Both clicks from the page's side, in one script: Playwright's own clicks and checks wait for the
    # navigation, which never ends here.
    disabled_between = page.evaluate("""async () => {
        const button = document.querySelector("main button[type=submit]");
        button.click();
        await new Promise((resolve) => setTimeout(resolve, 300));
        const disabled = button.disabled;
        button.click();  // again, as a user does when nothing seems to happen
        return disabled;
    }""")
    page.wait_for_timeout(300)
    assert disabled_between
    assert len(sent) == 1
    context.close()
