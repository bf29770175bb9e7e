"""With the plugin off, nothing of it shows: no pages, no menu links."""
import pytest

from reslib.testing import login


@pytest.fixture
def app_config():
    return {"PLUGINS": []}


def test_pages_are_gone_and_the_menu_does_not_link_them(client, district):
    login(client, "admin")
    assert client.get("/provincial/rounds").status_code == 404
    assert client.get("/provincial/taxonomy").status_code == 404
    page = client.get("/dashboard").get_data(as_text=True)
    assert "/provincial/" not in page
    assert "资源推荐" not in page and "国家平台栏目" not in page


def test_platform_settings_are_not_added(app):
    assert "NATIONAL_PLATFORM_URL" not in app.config
