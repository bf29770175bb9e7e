"""The award page, the menu link and the panels on profile and dashboard pages."""
from datetime import datetime

import pytest
from sqlalchemy import select

from plugins.points import plugin, service
from plugins.points.models import PointEntry
from reslib.extensions import db
from reslib.models import User
from reslib.testing import csrf_token, login, post_form


@pytest.fixture(autouse=True)
def members_since_long_ago(district):
    """Everyone joined before the term began, so baselines are whole (a newcomer's is pro-rated)."""
    for user in db.session.scalars(select(User)):
        user.verified_at = user.created_at = datetime(2020, 1, 1)
    db.session.commit()


def _award_form(client, **data):
    return post_form(client, "/points/award", data, token_page="/points/award")


def test_district_admin_sees_the_award_page_and_the_menu_link(client, district):
    login(client, "admin")
    page = client.get("/points/award")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="username"' in html and 'name="amount"' in html and 'name="reason"' in html
    assert "还没有手动记分" in html
    assert 'href="/points/award"' in client.get("/dashboard").get_data(as_text=True)


def test_others_are_refused_the_award_page_and_get_no_link(client, district):
    for username in ("teacher.a", "admin.a"):
        login(client, username)
        assert client.get("/points/award").status_code == 403
        assert client.post("/points/award", data={"csrf_token": csrf_token(client, "/dashboard"), "username": "student.a",
                                                  "amount": "5", "reason": "课堂展示"}).status_code == 403
        assert "/points/award" not in client.get("/dashboard").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    assert db.session.scalars(select(PointEntry)).all() == []


def test_anonymous_visitors_are_sent_to_login(client, district):
    response = client.get("/points/award")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_posting_the_form_records_an_award_and_lists_it(client, district):
    login(client, "admin")
    response = _award_form(client, username=" Teacher.A ", amount="12", reason="区级公开课")
    assert response.status_code == 302
    entry = db.session.scalar(select(PointEntry))
    assert (entry.user_id, entry.amount, entry.reason, entry.awarded_by_id) == (
        district.teacher_a.id, 12, "区级公开课", district.district_admin.id)
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已给" in html and "+12" in html and "区级公开课" in html and "teacher.a" in html


def test_form_errors_are_shown_beside_the_field_and_nothing_is_written(client, district):
    login(client, "admin")
    cases = [
        ({"username": "nobody", "amount": "5", "reason": "x"}, "没有用户名为“nobody”的账号"),
        ({"username": "teacher.a", "amount": "0", "reason": "x"}, "分值不能为 0"),
        ({"username": "teacher.a", "amount": "5000", "reason": "x"}, "每次最多加减 1000 分"),
        ({"username": "teacher.a", "amount": "五", "reason": "x"}, "分值须为整数"),
        ({"username": "teacher.a", "amount": "5", "reason": ""}, "请填写记分原因"),
    ]
    for data, message in cases:
        response = _award_form(client, **data)
        assert response.status_code == 200
        assert message in response.get_data(as_text=True)
    assert db.session.scalars(select(PointEntry)).all() == []


def test_own_profile_shows_points_against_the_baseline(client, district):
    service.award(district.district_admin, district.student_a, 35, "科技节二等奖")
    login(client, "student.a")
    html = client.get("/profile").get_data(as_text=True)
    assert "学期积分 35 / 基本分值 60，还差 25 分" in html and "科技节二等奖" in html
    assert "学期积分 35 / 基本分值 60，还差 25 分" in client.get("/dashboard").get_data(as_text=True)


def test_reaching_the_baseline_is_shown(client, district):
    service.award(district.district_admin, district.teacher_a, 100, "优质课一等奖")
    login(client, "teacher.a")
    assert "学期积分 100 / 基本分值 100，已达标" in client.get("/dashboard").get_data(as_text=True)


def test_panel_lists_only_the_last_five_entries(client, district):
    for n in range(1, 8):
        service.award(district.district_admin, district.teacher_a, n, f"第{n}次教研")
    login(client, "teacher.a")
    html = client.get("/profile").get_data(as_text=True)
    assert "学期积分 28 /" in html
    assert "第7次教研" in html and "第3次教研" in html and "第2次教研" not in html


def test_admin_sees_the_panel_on_the_account_page(client, district):
    service.award(district.district_admin, district.teacher_a, -4, "更正：重复记分")
    login(client, "admin")
    html = client.get(f"/admin/accounts/{district.teacher_a.id}").get_data(as_text=True)
    assert "学期积分 -4 / 基本分值 100，还差 104 分" in html and "更正：重复记分" in html
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "admin.a")
    assert "学期积分 -4 /" in client.get(f"/admin/accounts/{district.teacher_a.id}").get_data(as_text=True)


def test_panel_is_hidden_from_people_of_another_school(app, district):
    service.award(district.district_admin, district.teacher_a, 8, "教研活动")
    with app.test_request_context():
        assert plugin.profile_panels(user=district.teacher_a, viewer=district.teacher_b) == []
        assert plugin.profile_panels(user=district.teacher_a, viewer=district.admin_b) == []
        assert plugin.profile_panels(user=district.teacher_a, viewer=district.student_a) == []
        shown = plugin.profile_panels(user=district.teacher_a, viewer=district.admin_a)
        assert len(shown) == 1 and "学期积分 8 /" in shown[0]


def test_district_staff_dashboard_has_no_points_panel(client, district):
    login(client, "admin")
    assert "学期积分" not in client.get("/dashboard").get_data(as_text=True)
