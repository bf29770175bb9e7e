"""With the plugin switched off nothing of it shows: no page, no link, no panel."""
import pytest

from reslib.testing import login


@pytest.fixture
def app_config():
    return {"PLUGINS": []}


def test_nothing_of_points_appears_when_disabled(app, district):
    admin = app.test_client()
    login(admin, "admin")
    assert admin.get("/points/award").status_code == 404
    assert "积分" not in admin.get("/dashboard").get_data(as_text=True)
    assert "积分" not in admin.get(f"/admin/accounts/{district.teacher_a.id}").get_data(as_text=True)
    teacher = app.test_client()
    login(teacher, "teacher.a")
    assert "积分" not in teacher.get("/dashboard").get_data(as_text=True)
    assert "积分" not in teacher.get("/profile").get_data(as_text=True)
