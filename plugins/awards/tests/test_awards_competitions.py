"""District competitions: set up by the district admin, hidden while drafts, moved forward stage by stage."""
from datetime import date

import pytest
from sqlalchemy import select

from plugins.awards import service
from plugins.awards.models import Competition
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AuditEvent
from reslib.testing import login, post_form

FORM = {"title": "2026 年度优秀微课评比", "year": "2026", "description": "面向全区中小学教师。\n每人限报一件。",
        "prize_ratio": "3:3:4", "max_award_rate": "80", "entry_deadline": "2026-05-31"}


def make(district, title="2026 年度优秀微课评比", status="draft", **changes):
    args = {"year": 2026, "description": None, "prize_ratio": "3:3:4", "max_award_rate": 80, "entry_deadline": None}
    competition = service.create_competition(district.district_admin, title, **{**args, **changes})
    for step in {"draft": [], "open": ["open"], "judging": ["open", "judging"], "closed": ["open", "judging", "closed"]}[status]:
        service.set_status(district.district_admin, competition, step)
    return competition


def test_district_admin_creates_a_draft_from_the_form(client, district):
    login(client, "admin")
    page = client.get("/awards/new").get_data(as_text=True)
    assert 'value="3:3:4"' in page and 'value="80"' in page  # the configured defaults
    response = post_form(client, "/awards/new", {**FORM, "prize_ratio": "3：3：4"}, token_page="/awards/new")
    assert response.status_code == 302
    competition = db.session.scalar(select(Competition))
    assert (competition.title, competition.status, competition.prize_ratio) == ("2026 年度优秀微课评比", "draft", "3:3:4")
    assert competition.entry_deadline == date(2026, 5, 31) and competition.created_by_id == district.district_admin.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已创建评比草稿" in page and "草稿" in page and "每人限报一件" in page
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.action == "awards.competition_created"))


def test_form_errors_are_shown_in_chinese_and_nothing_is_saved(client, district):
    login(client, "admin")
    page = post_form(client, "/awards/new", {**FORM, "prize_ratio": "3-3-4"}, token_page="/awards/new").get_data(as_text=True)
    assert "用冒号分隔" in page and 'value="2026 年度优秀微课评比"' in page
    page = post_form(client, "/awards/new", {**FORM, "max_award_rate": "120"}, token_page="/awards/new").get_data(as_text=True)
    assert "1 到 100" in page
    page = post_form(client, "/awards/new", {**FORM, "entry_deadline": "5月31日"}, token_page="/awards/new").get_data(as_text=True)
    assert "截止日期格式" in page
    page = post_form(client, "/awards/new", {**FORM, "year": "9" * 5000}, token_page="/awards/new").get_data(as_text=True)
    assert "2000 到 2100" in page
    assert db.session.scalar(select(Competition)) is None


def test_titles_are_unique(app, district):
    make(district)
    with pytest.raises(ReslibError, match="同名"):
        make(district)


def test_teacher_cannot_create_or_change_a_competition(client, district):
    competition = make(district, status="open")
    login(client, "teacher.a")
    response = client.get("/awards/new")
    assert response.status_code == 403 and "只有区教育局管理员" in response.get_data(as_text=True)
    assert post_form(client, "/awards/new", FORM, token_page="/awards/").status_code == 403
    response = post_form(client, f"/awards/{competition.id}/status", {"status": "judging"}, token_page="/awards/")
    assert response.status_code == 403
    assert db.session.get(Competition, competition.id).status == "open"
    assert "新建评比" not in client.get("/awards/").get_data(as_text=True)
    with pytest.raises(ReslibError) as exc:
        service.create_competition(district.admin_a, "学校管理员的评比", 2026)
    assert exc.value.status == 403


@pytest.mark.parametrize(("start", "target"), [
    ("draft", "judging"), ("open", "draft"), ("open", "closed"), ("judging", "open"), ("closed", "open"),
    ("closed", "draft"), ("open", "open"), ("draft", "archived"),
])
def test_illegal_transitions_are_refused(app, district, start, target):
    competition = make(district, status=start)
    with pytest.raises(ReslibError):
        service.set_status(district.district_admin, competition, target)
    assert db.session.get(Competition, competition.id).status == start


def test_stages_move_forward_through_the_page_and_are_audited(client, district):
    competition = make(district)
    login(client, "admin")
    page = client.get(f"/awards/{competition.id}").get_data(as_text=True)
    assert "开始征集" in page and "取消评比" in page
    for status, label in (("open", "征集中"), ("judging", "评审中"), ("closed", "已结束")):
        response = post_form(client, f"/awards/{competition.id}/status", {"status": status}, token_page=f"/awards/{competition.id}")
        assert f"评比状态已改为“{label}”" in client.get(response.headers["Location"]).get_data(as_text=True)
    details = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "awards.competition_status")).all()
    assert details == ["草稿 → 征集中", "征集中 → 评审中", "评审中 → 已结束"]
    # a stale page asking for an illegal step is told why, and nothing changes
    response = post_form(client, f"/awards/{competition.id}/status", {"status": "open"}, token_page="/awards/")
    assert "不能从“已结束”改为“征集中”" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_draft_can_be_called_off(app, district):
    competition = make(district)
    service.set_status(district.district_admin, competition, "closed")
    assert competition.status == "closed"


def test_drafts_are_hidden_from_teachers(client, district):
    draft = make(district, title="内部草稿评比")
    make(district, title="公开征集评比", status="open")
    assert [c.title for c in service.list_competitions(district.teacher_a)] == ["公开征集评比"]
    assert len(service.list_competitions(district.district_admin)) == 2
    login(client, "teacher.a")
    page = client.get("/awards/").get_data(as_text=True)
    assert "公开征集评比" in page and "内部草稿评比" not in page
    assert client.get(f"/awards/{draft.id}").status_code == 404
    assert post_form(client, f"/awards/{draft.id}/status", {"status": "open"}, token_page="/awards/").status_code == 404
    assert client.get("/awards/999").status_code == 404


def test_list_page_shows_status_deadline_and_prize_allocation(client, district):
    make(district, title="优秀课件评比", status="open", entry_deadline=date(2026, 6, 30))
    make(district, title="精品课评比", status="judging", prize_ratio="1:2:7", max_award_rate=50)
    login(client, "student.a")
    page = client.get("/awards/").get_data(as_text=True)
    assert "征集中" in page and "评审中" in page and "2026-06-30" in page
    assert "按 100 件参评作品计：一等奖 24，二等奖 24，三等奖 32" in page  # 3:3:4, 80%
    assert "按 100 件参评作品计：一等奖 5，二等奖 10，三等奖 35" in page  # 1:2:7, 50%
    page = client.get("/awards/?entries=10").get_data(as_text=True)
    assert "按 10 件参评作品计：一等奖 2，二等奖 3，三等奖 3" in page
    page = client.get("/awards/?entries=abc").get_data(as_text=True)
    assert "0 到 1000000 之间的整数" in page and "按 100 件参评作品计" in page
    response = client.get("/awards/?entries=" + "9" * 5000)  # too long for int(): a message, not a crash
    assert response.status_code == 200 and "0 到 1000000 之间的整数" in response.get_data(as_text=True)


def test_calculator_works_before_any_competition_exists(client, district):
    login(client, "teacher.a")
    page = client.get("/awards/?entries=50").get_data(as_text=True)
    assert "默认规则" in page and "按 50 件参评作品计：一等奖 12，二等奖 12，三等奖 16" in page


def test_anonymous_visitors_are_sent_to_login(client, district):
    for path in ("/awards/", "/awards/new", "/awards/1"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "区级评比" not in client.get("/").get_data(as_text=True)


def test_menu_link_and_dashboard_panel(client, district):
    make(district, title="优秀课件评比", status="open", entry_deadline=date(2026, 6, 30))
    make(district, title="内部草稿评比")
    login(client, "teacher.b")
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/awards/">区级评比</a>' in page
    assert "区级评比征集中" in page and "优秀课件评比" in page and "截止 2026-06-30" in page
    assert "内部草稿评比" not in page


def test_no_dashboard_panel_when_nothing_is_open(client, district):
    make(district, title="内部草稿评比")
    login(client, "teacher.b")
    assert "区级评比征集中" not in client.get("/dashboard").get_data(as_text=True)


class TestDisabled:
    @pytest.fixture
    def app_config(self):
        return {"PLUGINS": []}

    def test_nothing_of_the_plugin_appears(self, client, district):
        login(client, "admin")
        assert client.get("/awards/").status_code == 404
        assert "区级评比" not in client.get("/dashboard").get_data(as_text=True)


def test_categories_set_by_the_district_admin_decide_which_resources_may_enter(client, district):
    from plugins.awards import entries
    from reslib.services import vocabularies
    from reslib.testing import add_resource

    competition = make(district, title="分组评比")
    maths = vocabularies.terms("subject")[1]
    login(client, "admin")
    page = f"/awards/{competition.id}"
    response = post_form(client, f"{page}/categories", {"category-name": "数学组", "category-subject_id": str(maths.id),
                                                        "category-prize_ratio": "1:2:3", "category-kind": "",
                                                        "category-form_id": "", "category-stage_id": ""},
                         token_page=page)
    assert response.status_code == 302
    db.session.expire_all()
    category = competition.categories[1]
    assert (category.name, category.subject_id, category.prize_ratio, category.max_award_rate) == (
        "数学组", maths.id, "1:2:3", 80)
    service.set_status(district.district_admin, competition, "open")
    other = add_resource(district.teacher_a, title="语文课", subject_id=vocabularies.terms("subject")[0].id)
    with pytest.raises(ReslibError, match="不符合组别“数学组”"):
        entries.enter(district.teacher_a, competition, other, category)
    entry = entries.enter(district.teacher_a, competition, add_resource(district.teacher_a, subject_id=maths.id),
                          category)
    assert entry.category_id == category.id
    # a category with entries stays; settings are refused once judging starts
    with pytest.raises(ReslibError, match="已有作品报名"):
        service.remove_category(district.district_admin, category)
    service.set_status(district.district_admin, competition, "judging")
    with pytest.raises(ReslibError, match="评审开始后"):
        service.update_settings(district.district_admin, competition, per_teacher=5)


def test_the_settings_page_saves_eligibility_limits_and_the_rubric(client, district):
    competition = make(district, title="设置评比")
    login(client, "admin")
    path = f"/awards/{competition.id}/settings"
    page = client.get(path).get_data(as_text=True)
    assert "方向正确|25|" in page
    data = {"title": "设置评比", "year": "2026", "prize_ratio": "3:3:4", "max_award_rate": "80",
            "eligible_roles": ["teacher", "student"], "eligible_schools": [str(district.school_a.id)],
            "per_teacher": "2", "school_quota": "5", "max_authors": "4", "judges_per_entry": "3",
            "disagreement_margin": "15", "blind": "y", "rubric": "创新性|60|新颖|是\n规范性|40|规范|否"}
    response = post_form(client, path, {**data, "rubric": "创新性|60|新颖|是"}, token_page=path)
    assert "各项分值之和应为 100" in response.get_data(as_text=True)
    assert post_form(client, path, data, token_page=path).status_code == 302
    db.session.expire_all()
    assert (competition.roles, competition.eligible_school_ids, competition.per_teacher, competition.school_quota,
            competition.max_authors, competition.judges_per_entry, competition.disagreement_margin) == (
        ["teacher", "student"], [district.school_a.id], 2, 5, 4, 3, 15)
    assert [(c["name"], c["weight"], c["comment"]) for c in competition.rubric] == [("创新性", 60, True),
                                                                                  ("规范性", 40, False)]


def test_a_new_prize_rule_carries_to_the_categories_that_followed_the_old_one(district):
    competition = make(district, title="改规则评比")
    own = service.add_category(district.district_admin, competition, "特色组", prize_ratio="1:1:1", max_award_rate=50)
    service.update_settings(district.district_admin, competition, prize_ratio="2:3:5", max_award_rate=60)
    assert [(c.name, c.prize_ratio, c.max_award_rate) for c in competition.categories] == [
        ("综合", "2:3:5", 60), (own.name, "1:1:1", 50)]
