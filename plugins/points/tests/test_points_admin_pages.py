"""The district admin's pages: the rule table (积分规则) and the terms with their baselines (学期与基本分值)."""
import html
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from plugins.points import earning, periods, rules, service
from plugins.points.models import Baseline, PointTerm, RuleVersion
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AuditEvent, User
from reslib.services import vocabularies
from reslib.testing import csrf_token, login, post_form


@pytest.fixture(autouse=True)
def members_since_long_ago(district):
    """Everyone joined long before, so baselines are whole (a newcomer's is pro-rated)."""
    for user in db.session.scalars(select(User)):
        user.verified_at = user.created_at = datetime(2020, 1, 1)
    db.session.commit()


def page_fields(client, path: str) -> dict:
    """The text boxes of a page's form as a browser would send them untouched."""
    page = client.get(path).get_data(as_text=True)
    fields = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name, value = re.search(r'name="([^"]*)"', tag), re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return fields


def save_rules(client, **changes):
    data = {**page_fields(client, "/points/rules"), **changes}
    return client.post("/points/rules", data=data)


def form_id(name: str) -> int:
    """The id of a 资源形式, whose base is the text box form__<id>."""
    return next(term.id for term in vocabularies.terms("form") if term.name == name)


def saved_versions() -> list[RuleVersion]:
    return list(db.session.scalars(select(RuleVersion).where(RuleVersion.created_by_id.is_not(None))))


def points_audit() -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action.startswith("points."))
                                   .order_by(AuditEvent.id)))


def has_error(page: str, field: str) -> bool:
    return re.search(rf'<div class="field has-error">\s*<label for="{field}">', page) is not None


# --- 积分规则 -------------------------------------------------------------------------------------

def test_the_rules_page_shows_every_figure_in_effect_today(client, district):
    login(client, "admin")
    fields = page_fields(client, "/points/rules")
    shown = {name: fields[name] for name in ("base__video", "size__video__per", "size__video__floor",
                                             "quality__excellent", "daily_caps__share", "prizes__first",
                                             "study_threshold", "repeat_days", "ranking__contribution")}
    assert shown == {"base__video": "10", "size__video__per": "10", "size__video__floor": "0.5",
                     "quality__excellent": "2", "daily_caps__share": "50", "prizes__first": "50",
                     "study_threshold": "60", "repeat_days": "1", "ranking__contribution": "0.4"}
    assert fields[f"form__{form_id('课件')}"] == ""  # no base of its own: the kind's
    assert fields["effective_from"] == periods.local_today().isoformat()
    page = client.get("/points/rules").get_data(as_text=True)
    assert "系统默认" in page and "现行" in page
    assert 'href="/points/rules"' in client.get("/points/award").get_data(as_text=True)


def test_a_saved_version_is_in_effect_from_its_day_and_audited(client, district):
    login(client, "admin")
    today = periods.local_today()
    later = today + timedelta(days=3)
    response = save_rules(client, base__video="12", **{f"form__{form_id('课件')}": "8"}, size__video__cap="2.5",
                          effective_from=later.isoformat(), note="提高课件的基础分")
    assert response.status_code == 302
    [version] = saved_versions()
    assert (version.effective_from, version.note, version.created_by_id) == (later, "提高课件的基础分",
                                                                               district.district_admin.id)
    assert version.rules["base"]["video"] == 12 and version.rules["form_base"] == {"课件": 8}
    assert version.rules["size"]["video"]["cap"] == 2.5 and version.rules["quality"] == rules.DEFAULT_RULES["quality"]
    assert rules.version_on(today).rules["base"]["video"] == 10  # until its day, the rules in effect stay
    assert rules.version_on(later).id == version.id and rules.version_on(later + timedelta(days=90)).id == version.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "尚未生效" in page and "提高课件的基础分" in page and f"{later.isoformat()} 起生效" in page
    assert page_fields(client, "/points/rules")["base__video"] == "10"  # the form shows today's table
    assert page_fields(client, f"/points/rules?version={version.id}")["base__video"] == "12"  # the future one, seen
    [event] = points_audit()
    assert (event.action, event.actor_id) == ("points.rules", district.district_admin.id)
    assert later.isoformat() in event.detail and "提高课件的基础分" in event.detail


def test_a_version_saved_for_today_is_in_effect_at_once(client, district):
    login(client, "admin")
    assert save_rules(client, actions__view="3").status_code == 302
    assert rules.version_on(periods.local_today()).rules["actions"]["view"] == 3
    assert rules.version_on(date(2020, 1, 1)).rules["actions"]["view"] == 1  # the shipped rules before it
    assert "今天起生效" in client.get("/points/rules").get_data(as_text=True)


def test_an_earlier_day_is_refused_the_past_is_never_rewritten(client, district):
    login(client, "admin")
    yesterday = periods.local_today() - timedelta(days=1)
    for day, message in ((yesterday.isoformat(), "生效日期不能早于今天"), ("2026-02-30", "日期应为“年-月-日”"),
                         ("", "请填写日期")):
        response = save_rules(client, base__video="12", effective_from=day)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and message in page and has_error(page, "effective_from"), day
    assert saved_versions() == [] and points_audit() == []


@pytest.mark.parametrize("changes, field, message", [
    ({"base__video": "十"}, "base__video", "基础分（视频）：应为整数"),
    ({"base__audio": "-1"}, "base__audio", "基础分（音频）：应在 0 到 10000 之间"),
    ({"size__video__cap": "abc"}, "size__video__cap", "容量系数（视频，分钟）：应为数字"),
    ({"size__audio__floor": "5"}, "size__audio__floor", "容量系数（音频，分钟）：下限不能高于上限"),
    ({"size__document__per": "0"}, "size__document__per", "每单位的量应大于 0"),
    ({"quality__good": "1e999"}, "quality__good", "质量系数（良）：应在 0 到 100 之间"),
    ({"daily_caps__view": "2.5"}, "daily_caps__view", "每日上限（浏览文档等其他资源）：应为整数"),
    ({"study_threshold": "5"}, "study_threshold", "学习阈值（%）：至少 10%"),
    ({"repeat_days": "0"}, "repeat_days", "重复计分间隔（天）：至少 1 天"),
    ({"note": "长" * 256}, "note", "说明不能超过 255 个字"),
])
def test_a_bad_figure_is_refused_beside_it_naming_it(client, district, changes, field, message):
    login(client, "admin")
    response = save_rules(client, **changes)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and "没有保存" in page
    assert has_error(page, field)
    assert saved_versions() == [] and points_audit() == []


def test_bad_figures_of_a_form_and_of_the_ranking_are_named_too(client, district):
    login(client, "admin")
    courseware = f"form__{form_id('课件')}"
    page = save_rules(client, **{courseware: "八"}, ranking__contribution="2").get_data(as_text=True)
    assert "基础分（课件）：应为整数" in page and has_error(page, courseware)
    assert "贡献（人均资源贡献积分）：应在 0 到 1 之间" in page and has_error(page, "ranking__contribution")
    page = save_rules(client, ranking__contribution="0", ranking__use="0", ranking__baseline="0").get_data(as_text=True)
    assert "排名权重不能全为 0" in page
    assert saved_versions() == []


def test_only_the_district_admin_may_change_the_rules_or_the_terms(client, district):
    term = periods.current_term()
    db.session.commit()
    for username in ("teacher.a", "admin.a", "reviewer"):
        login(client, username)
        token = csrf_token(client, "/dashboard")
        assert client.get("/points/rules").status_code == 403
        today = periods.local_today().isoformat()
        assert client.post("/points/rules", data={"csrf_token": token, "base__video": "99",
                                                  "effective_from": today}).status_code == 403
        assert client.get("/points/terms").status_code == 403
        assert client.post("/points/terms", data={"csrf_token": token, "starts_on": "2027-03-01",
                                                  "name": "春季"}).status_code == 403
        assert client.post("/points/terms/baselines", data={"csrf_token": token, "term_id": term.id, "role": "teacher",
                                                            "points": "5"}).status_code == 403
        assert "/points/rules" not in client.get("/dashboard").get_data(as_text=True)
        client.post("/logout", data={"csrf_token": token})
    with pytest.raises(ReslibError) as refused:
        rules.save_version(district.admin_a, rules.DEFAULT_RULES, periods.local_today(), "")
    assert refused.value.status == 403
    with pytest.raises(ReslibError) as refused:
        periods.save_term(district.admin_a, date(2027, 3, 1), "春季")
    assert refused.value.status == 403
    assert saved_versions() == [] and db.session.scalars(select(Baseline)).all() == [] and points_audit() == []
    assert [t.starts_on for t in periods.terms()] == [term.starts_on]


# --- 学期与基本分值 -----------------------------------------------------------------------------------

def test_the_terms_page_explains_the_terms_and_the_pro_rating(client, district):
    login(client, "admin")
    page = client.get("/points/terms").get_data(as_text=True)
    current = periods.current_term()
    assert current.name in page and current.starts_on.isoformat() in page and current.ends_on.isoformat() in page
    assert "到下一个学期开始的前一天止" in page and "按剩余天数折算" in page
    assert "全区" in page and "100" in page and "60" in page


def test_a_term_added_moves_the_boundaries_and_the_totals(client, district):
    periods.ensure_terms(date(2024, 9, 1), periods.local_today())
    for day, amount in ((date(2024, 10, 8), 5), (date(2024, 12, 2), 7)):
        at = datetime.combine(day, datetime.min.time()).replace(hour=4)
        earning.write_entry(earning.new_entry(district.teacher_a.id, amount, "manual", f"test:{day}", None, None,
                                              district.school_a.id, at, "教研活动"))
    db.session.commit()
    autumn = periods.term_on(date(2024, 10, 8))
    assert service.balance(district.teacher_a, autumn) == 12
    login(client, "admin")
    response = post_form(client, "/points/terms", {"term": "", "starts_on": "2024-11-15", "name": "2024 冬季学段"},
                         token_page="/points/terms")
    assert response.status_code == 302
    before, after = periods.term_on(date(2024, 11, 14)), periods.term_on(date(2024, 11, 15))
    assert (before.starts_on, before.ends_on) == (date(2024, 9, 1), date(2024, 11, 14))
    assert (after.name, after.starts_on, after.ends_on) == ("2024 冬季学段", date(2024, 11, 15), date(2025, 1, 31))
    assert service.balance(district.teacher_a, before) == 5 and service.balance(district.teacher_a, after) == 7
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2024 冬季学段" in page and "2024-11-14" in page
    [event] = points_audit()
    assert event.action == "points.terms" and "2024 冬季学段" in event.detail and "2024-11-15" in event.detail
    # moved: the days go back to the autumn term
    response = post_form(client, "/points/terms", {"term": str(after.id), "starts_on": "2024-12-10",
                                                   "name": "2024 冬季学段"}, token_page="/points/terms")
    assert response.status_code == 302
    assert service.balance(district.teacher_a, periods.term_on(date(2024, 10, 8))) == 12


@pytest.mark.parametrize("data, field, message", [
    ({"starts_on": "", "name": "春季"}, "starts_on", "请填写日期"),
    ({"starts_on": "2027-02-30", "name": "春季"}, "starts_on", "日期应为“年-月-日”"),
    ({"starts_on": "1999-09-01", "name": "春季"}, "starts_on", "日期应在 2000-01-01 到 2099-12-31 之间"),
    ({"starts_on": "2027-03-01", "name": "  "}, "name", "请填写学期名称"),
    ({"starts_on": "2027-03-01", "name": "学" * 65}, "name", "学期名称不能超过 64 个字"),
])
def test_a_bad_term_is_refused_beside_its_field(client, district, data, field, message):
    login(client, "admin")
    client.get("/points/terms")  # the current term is written on the first visit
    rows = db.session.scalars(select(PointTerm.starts_on)).all()
    response = post_form(client, "/points/terms", {"term": "", **data}, token_page="/points/terms")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and has_error(page, field)
    assert db.session.scalars(select(PointTerm.starts_on)).all() == rows and points_audit() == []


def test_a_term_on_a_day_taken_is_refused(client, district):
    login(client, "admin")
    current = periods.current_term()
    db.session.commit()  # the request runs on its own connection: an uncommitted term would hold it on PostgreSQL
    response = post_form(client, "/points/terms", {"term": "", "starts_on": current.starts_on.isoformat(),
                                                   "name": "重复"}, token_page="/points/terms")
    assert response.status_code == 200 and "已有学期从这一天开始" in response.get_data(as_text=True)
    assert len(periods.terms()) == 1 and points_audit() == []


def test_a_school_override_is_the_baseline_of_its_people(client, district):
    login(client, "admin")
    client.get("/points/terms")
    term = periods.current_term()

    def save(**data):
        return post_form(client, "/points/terms/baselines", {"term_id": str(term.id), **data},
                         token_page="/points/terms")

    response = save(role="teacher", school_id=str(district.school_a.id), points="80")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"term_id={term.id}#baselines")
    assert save(role="student", school_id="", points="50").status_code == 302
    assert periods.baseline_of(district.teacher_a, term) == 80  # school A's own
    assert periods.baseline_of(district.teacher_b, term) == 100  # the district's, as configured
    assert periods.baseline_of(district.student_a, term) == periods.baseline_of(district.student_b, term) == 50
    page = client.get(f"/points/terms?term_id={term.id}").get_data(as_text=True)
    assert "第一实验小学" in page and "80" in page
    assert [(e.action, e.target) for e in points_audit()] == [("points.terms", f"school:{district.school_a.id}"),
                                                              ("points.terms", None)]
    assert "80" in points_audit()[0].detail
    # empty: school A follows the district again
    assert save(role="teacher", school_id=str(district.school_a.id), points="").status_code == 302
    assert periods.baseline_of(district.teacher_a, term) == 100


@pytest.mark.parametrize("data, field, message", [
    ({"role": "teacher", "school_id": "", "points": "abc"}, "points", "基本分值应为不小于 0 的整数"),
    ({"role": "teacher", "school_id": "", "points": "100001"}, "points", "基本分值应为 0 到 100000 之间的整数"),
    ({"role": "teacher", "school_id": "99999", "points": "5"}, "school_id", "没有这所学校"),
    ({"role": "admin", "school_id": "", "points": "5"}, "role", "身份应为教师或学生"),
])
def test_a_bad_baseline_is_refused_and_nothing_saved(client, district, data, field, message):
    login(client, "admin")
    client.get("/points/terms")
    term = periods.current_term()
    response = post_form(client, "/points/terms/baselines", {"term_id": str(term.id), **data},
                         token_page="/points/terms")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page and has_error(page, field)
    assert db.session.scalars(select(Baseline)).all() == [] and points_audit() == []
