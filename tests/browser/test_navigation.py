"""The district admin's 管理 menu by keyboard alone and on a phone: it opens with Enter, its links are reached
with Tab, Escape closes it and puts the focus back on its label, and on a phone it opens inside the menu."""
import pytest
from playwright.sync_api import expect
from test_journeys import VIEWPORTS, header, log_in

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_administration_menu_works_by_keyboard_and_on_a_phone(browser, live_server, device):
    context = browser.new_context(viewport=VIEWPORTS[device], locale="zh-CN")
    page = context.new_page()
    log_in(page, live_server, "admin")
    page.wait_for_url("**/dashboard")
    site = header(page, device)
    summary = site.locator("summary", has_text="管理")
    accounts = site.get_by_role("link", name="账号管理")
    expect(accounts).to_be_hidden()
    summary.focus()
    page.keyboard.press("Enter")
    expect(accounts).to_be_visible()
    page.keyboard.press("Tab")
    expect(accounts).to_be_focused()
    page.keyboard.press("Escape")
    expect(accounts).to_be_hidden()
    expect(summary).to_be_focused()
    page.keyboard.press("Space")
    expect(accounts).to_be_visible()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url("**/admin/accounts")
    expect(page.get_by_role("heading", name="账号管理")).to_be_visible()
    context.close()
