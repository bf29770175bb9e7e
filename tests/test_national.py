"""The national platform's sections and columns: the data, and the page teachers consult."""
from reslib import national as taxonomy
from reslib.testing import login


def test_six_sections_in_the_platform_order():
    assert taxonomy.sections() == ("德育", "劳动教育", "课后服务", "教师研修", "家庭教育", "教改经验")


def test_columns_of_each_section_as_the_notice_lists_them():
    assert len(taxonomy.columns("德育")) == 9
    assert "心理健康" in taxonomy.columns("德育")
    assert taxonomy.columns("劳动教育") == ("劳动光荣", "劳动导航", "劳动智慧")
    assert [len(taxonomy.columns(s)) for s in taxonomy.sections()] == [9, 3, 6, 9, 3, 9]
    assert taxonomy.columns("课程教学") == ()


def test_is_valid_pairs_a_column_with_its_own_section_only():
    assert taxonomy.is_valid("德育", "心理健康")
    assert taxonomy.is_valid("教改经验", "落实“双减”")
    assert not taxonomy.is_valid("劳动教育", "心理健康")
    assert not taxonomy.is_valid("德育", "德育")
    assert not taxonomy.is_valid("不存在", "心理健康")


def test_any_signed_in_user_sees_every_section_and_column(client, district):
    login(client, "student.a")
    page = client.get("/provincial/taxonomy").get_data(as_text=True)
    for section, columns in taxonomy.SECTIONS:
        assert section in page
        for column in columns:
            assert column in page
    assert "9 个栏目" in page
    assert "/provincial/rounds" not in page  # recommendation rounds are the admins' business


def test_signed_out_visitors_are_sent_to_login(client, district):
    response = client.get("/provincial/taxonomy")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_configured_platforms_are_linked(app, client, district):
    login(client, "teacher.a")
    assert "smartedu" not in client.get("/provincial/taxonomy").get_data(as_text=True)
    app.config["NATIONAL_PLATFORM_URL"] = "https://basic.smartedu.cn/"
    page = client.get("/provincial/taxonomy").get_data(as_text=True)
    assert 'href="https://basic.smartedu.cn/"' in page
    assert "打开国家中小学智慧教育平台" in page


def test_platform_settings_default_to_not_linked(app):
    assert app.config["NATIONAL_PLATFORM_URL"] is None
    assert app.config["PROVINCIAL_PLATFORM_URL"] is None


def test_menu_offers_the_columns_to_everyone_and_rounds_to_the_admins(app, client, district):
    login(client, "teacher.a")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/provincial/taxonomy"' in page and "国家平台栏目" in page
    assert "资源推荐" not in page

    admin = app.test_client()
    login(admin, "admin")
    page = admin.get("/dashboard").get_data(as_text=True)
    assert 'href="/provincial/taxonomy"' in page
    assert 'href="/provincial/rounds"' in page and "资源推荐" in page
