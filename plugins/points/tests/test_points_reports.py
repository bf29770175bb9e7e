"""The evaluation reports: a school's report, the district's ranking of schools (weights from the rules), the
resources' quality ranking (a Bayesian average), the library's annual update rate, their pages and exports."""
import re
from datetime import date, datetime, timedelta
from fractions import Fraction
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from plugins.points import periods, recompute, reports, rules, service
from plugins.points.models import RuleVersion
from reslib.extensions import db
from reslib.models import AuditEvent, Rating, ReviewDecision, UsageEvent, User
from reslib.services import library, usage
from reslib.testing import add_resource, csrf_token, login, recorded_statements


@pytest.fixture(autouse=True)
def members_since_long_ago(district):
    """Everyone joined before the term began, so baselines are whole (a newcomer's is pro-rated)."""
    for user in db.session.scalars(select(User)):
        user.verified_at = user.created_at = datetime(2020, 1, 1)
    periods.current_term()
    db.session.commit()


@pytest.fixture
def term(district):
    return periods.current_term()


@pytest.fixture
def busy(district):
    """School A contributes (teacher.a's handout enters the library) and student.a reaches the baseline; school B
    uses (three uses over two people) and nobody there reaches it; school C has nobody measured."""
    handout = add_resource(district.teacher_a, title="勾股定理讲义")
    library.changed(handout, "published", district.district_admin)
    service.award(district.district_admin, district.student_a, 60, "科技节二等奖")
    usage.record(district.student_b, handout, "view")
    usage.record(district.teacher_b, handout, "view")
    usage.record(district.teacher_b, handout, "download")
    return handout


def contributed(user, term) -> int:
    return next(s.contributed for s in reports.standings(term) if s.member.id == user.id)


def set_weights(**weights) -> None:
    """A new rule version in effect from today with these ranking weights."""
    table = {**rules.first_version().rules, "ranking": weights}
    db.session.add(RuleVersion(effective_from=periods.local_today(), rules_json=rules.dump(rules.check(table))))
    db.session.commit()


def logout(client):
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})


# --- the service ------------------------------------------------------------------------------

def test_school_figures_count_the_measured_people_and_their_share_at_baseline(district, term, busy):
    figures = reports.school_figures(term)
    a, b, c = (figures[school.id] for school in (district.school_a, district.school_b, district.school_c))
    # A: admin.a and teacher.a (teachers), student.a; pending.a is not an active account
    assert (a.measured, a.reached) == ({"teacher": 2, "student": 1}, {"teacher": 0, "student": 1})
    assert (a.share("teacher"), a.share("student"), a.baseline_share) == (0.0, 1.0, 1 / 3)
    assert a.contributed == contributed(district.teacher_a, term) > 0
    assert a.points == 60 + a.contributed and a.points_per_capita == a.points / 3
    # B: reviewer, admin.b, teacher.b, student.b; three uses by two learners (opening a page is a visit)
    assert (b.measured_total, b.reached_total, b.learners, b.uses, b.visits) == (4, 0, 2, 3, 2)
    assert b.uses_per_capita == 3 / 4 and b.share("student") == 0.0
    assert (c.measured_total, c.baseline_share, c.points_per_capita, c.share("teacher")) == (0, None, None, None)


def test_disabled_accounts_and_people_who_joined_after_the_term_are_not_measured(district, term):
    district.teacher_b.status = "disabled"
    district.student_b.verified_at = datetime.combine(term.ends_on + timedelta(days=1), datetime.min.time())
    db.session.commit()
    assert reports.school_figures(term)[district.school_b.id].measured == {"teacher": 2, "student": 0}


def test_the_ranking_normalises_each_figure_by_the_best_school_and_weighs_them(district, term, busy):
    ranked = reports.ranking(term)
    assert reports.weights_today() == {"contribution": 0.4, "use": 0.3, "baseline": 0.3}
    assert [row.school.id for row in ranked] == [district.school_a.id, district.school_b.id, district.school_c.id]
    a, b, c = ranked
    assert a.values == {"contribution": contributed(district.teacher_a, term) / 3, "use": 0.0, "baseline": 1 / 3}
    assert b.values == {"contribution": 0.0, "use": 3 / 4, "baseline": 0.0}
    assert a.normalised == {"contribution": 1.0, "use": 0.0, "baseline": 1.0}
    assert b.normalised == {"contribution": 0.0, "use": 1.0, "baseline": 0.0}
    assert c.normalised == {"contribution": 0.0, "use": 0.0, "baseline": 0.0}
    assert a.score == pytest.approx(0.4 + 0.3) and b.score == pytest.approx(0.3) and c.score == 0
    assert [row.rank for row in ranked] == [1, 2, 3]


def test_changing_a_weight_changes_the_order(district, term, busy):
    set_weights(contribution=0.1, use=0.9, baseline=0)
    ranked = reports.ranking(term)
    assert [row.school.id for row in ranked][:2] == [district.school_b.id, district.school_a.id]
    assert ranked[0].score == pytest.approx(0.9) and ranked[1].score == pytest.approx(0.1)
    assert [row.school.id for row in reports.ranking(term, {"contribution": 1, "use": 0, "baseline": 0})][0] == \
        district.school_a.id


def test_schools_with_equal_scores_share_a_rank(district, term):
    ranked = reports.ranking(term)  # nothing happened: every score is 0
    assert [row.rank for row in ranked] == [1, 1, 1]


def test_below_baseline_lists_names_roles_and_what_each_is_short_of(district, term, busy):
    district.teacher_a.verified_at = datetime.combine(term.ends_on - timedelta(days=term.days // 2 - 1),
                                                      datetime.min.time())
    db.session.commit()
    below = reports.below_baseline(district.school_a, term)
    mine = contributed(district.teacher_a, term)
    newcomer = periods.baseline_of(district.teacher_a, term)
    assert 0 < newcomer < 100  # joined half-way: a pro-rated baseline
    assert [(s.member.username, s.role, s.points, s.baseline, s.short) for s in below] == [
        ("admin.a", "teacher", 0, 100, 100), ("teacher.a", "teacher", mine, newcomer, newcomer - mine)]
    assert [s.member.role_label for s in below] == ["教师", "教师"]
    assert all(s.member.username != "student.a" for s in below)  # reached hers


def test_the_school_report_gathers_resources_contributors_and_the_trend(district, term, busy):
    other = add_resource(district.teacher_b, title="育才中学的讲义")
    usage.record(district.student_a, other, "view")
    report = reports.school_report(district.school_a, term)
    assert [(used.title, used.uses, used.visits) for used in report.resources] == [("勾股定理讲义", 3, 2)]
    assert [(c.user.username, c.contributed) for c in report.contributors] == [
        ("teacher.a", contributed(district.teacher_a, term))]
    today = periods.local_today()
    assert report.trend[0].starts_on == term.starts_on
    assert report.trend[-1].starts_on <= today <= report.trend[-1].ends_on
    assert sum(week.points for week in report.trend) == report.figures.points
    assert sum(week.uses for week in report.trend) == 1  # student.a's view: the school's own use
    district_trend = reports.weekly_trend(term)
    assert sum(week.uses for week in district_trend) == 4


def test_a_single_five_star_rating_does_not_top_many_ratings_around_four_and_a_half(district):
    raters = [district.user(f"rater{n}", {"student"}, district.school_b, identifier=f"S8{n:03d}") for n in range(16)]
    db.session.commit()
    lone = add_resource(district.teacher_a, title="只有一个五星的资源")
    loved = add_resource(district.teacher_a, title="很多好评的资源")
    plain = add_resource(district.teacher_b, title="普通的资源")
    usage.rate(raters[0], lone, 5)
    for n, rater in enumerate(raters[1:11]):
        usage.rate(rater, loved, 4 + n % 2)  # ten ratings averaging 4.5
    for rater in raters[11:16]:
        usage.rate(rater, plain, 3)
    ranking = reports.quality_ranking()
    assert ranking.prior_weight == 5 and ranking.mean == pytest.approx((5 + 45 + 15) / 16)
    assert [rated.resource.title for rated in ranking.resources] == ["很多好评的资源", "只有一个五星的资源", "普通的资源"]
    m = Fraction(65, 16)
    assert ranking.resources[0].score == (5 * m + 45) / 15 and ranking.resources[1].score == (5 * m + 5) / 6
    assert [rated.rank for rated in ranking.resources] == [1, 2, 3]
    assert ranking.resources[1].mean == 5.0  # alone, its mean would have put it first


def test_quality_ties_go_to_the_more_used_and_only_library_resources_count(district):
    first = add_resource(district.teacher_a, title="使用少的资源")
    second = add_resource(district.teacher_a, title="使用多的资源")
    gone = add_resource(district.teacher_a, title="已撤下的资源", status="withdrawn")
    usage.rate(district.student_b, first, 4)
    usage.rate(district.student_b, second, 4)
    db.session.add(Rating(lineage_id=gone.lineage_id, user_id=district.teacher_b.id, stars=1))
    db.session.commit()
    usage.record(district.teacher_b, second, "view")
    usage.record(district.teacher_b, second, "download")
    ranking = reports.quality_ranking()
    assert [(rated.resource.title, rated.uses) for rated in ranking.resources] == [("使用多的资源", 2), ("使用少的资源", 0)]
    assert ranking.mean == 4.0


def test_the_update_rate_counts_what_entered_the_library_against_what_it_held_at_the_years_start(district):
    def resource(title, published, status="published", left=None):
        row = add_resource(district.teacher_a, title=title, status=status, published_at=published)
        if left is not None:
            db.session.add(ReviewDecision(resource_id=row.id, at=left, from_status="published", to_status=status,
                                          action="supersede" if status == "superseded" else "withdraw"))
            db.session.commit()
        return row

    resource("去年入库", datetime(2023, 10, 1))
    resource("学年前撤下", datetime(2023, 11, 1), "withdrawn", left=datetime(2024, 3, 1))
    resource("学年中撤下", datetime(2023, 12, 1), "withdrawn", left=datetime(2024, 10, 1))
    resource("旧版本", datetime(2022, 5, 1), "superseded", left=datetime(2024, 11, 1))
    resource("新版本", datetime(2024, 11, 1))
    resource("校本库新资源", datetime(2025, 3, 1), "school_approved")
    resource("入库后撤下", datetime(2025, 4, 1), "withdrawn", left=datetime(2025, 5, 1))
    resource("下一学年", datetime(2025, 9, 2))
    add_resource(district.teacher_a, title="草稿", status="draft")
    rate = reports.update_rate(2024)
    assert (rate.at_start, rate.entered) == (3, 2)
    assert rate.rate == pytest.approx(2 / 3) and rate.met and rate.target == 0.10
    assert (rate.starts_on, rate.ends_on) == (date(2024, 9, 1), date(2025, 8, 31))
    assert reports.update_rate(2020).rate is None and not reports.update_rate(2020).met


# --- the pages --------------------------------------------------------------------------------

def test_a_school_admin_sees_their_own_schools_report(client, district, busy):
    login(client, "admin.a")
    response = client.get("/points/school")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "学校积分评价：第一实验小学" in html
    assert "教师达标率" in html and "0.0%（0 / 2 人达到基本分值）" in html and "100.0%（1 / 1 人达到基本分值）" in html
    assert "admin.a" in html and "teacher.a" in html  # below the baseline, named
    assert "勾股定理讲义" in html and f'href="/resources/{busy.id}"' in html
    assert "按年级、班级的分项统计暂不可用" in html
    assert 'href="/points/school/export?school_id=' in html
    assert client.get(f"/points/school?school_id={district.school_a.id}").status_code == 200


def test_nobody_else_sees_a_schools_report(client, district):
    login(client, "admin.a")
    for path in ("/points/school", "/points/school/export"):
        assert client.get(f"{path}?school_id={district.school_b.id}").status_code == 403
    assert client.get("/points/district").status_code == 403
    assert client.get("/points/district/export").status_code == 403
    logout(client)
    for username in ("teacher.a", "student.a", "reviewer"):
        login(client, username)
        for path in ("/points/school", "/points/school/export", "/points/district", "/points/district/export"):
            assert client.get(f"{path}?school_id={district.school_a.id}").status_code == 403, (username, path)
        logout(client)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "points.exported")).all() == []


def test_the_list_below_the_baseline_comes_a_page_at_a_time(client, district):
    for n in range(51):
        district.user(f"pupil{n:02d}", {"student"}, district.school_a, identifier=f"S7{n:03d}").verified_at = \
            datetime(2020, 1, 1)
    db.session.commit()
    login(client, "admin.a")
    first = client.get("/points/school").get_data(as_text=True)
    assert "第 1 / 2 页，共 54 条" in first and "pupil00" in first and "pupil50" not in first
    second = client.get("/points/school?page=2").get_data(as_text=True)
    assert "pupil50" in second and "pupil00" not in second


def test_the_district_picks_any_school(client, district, busy):
    login(client, "admin")
    html = client.get("/points/school").get_data(as_text=True)
    assert "请选择要查看的学校" in html and "育才中学" in html
    html = client.get(f"/points/school?school_id={district.school_b.id}").get_data(as_text=True)
    assert "学校积分评价：育才中学" in html and "student.b" in html and "0 / 3 人达到基本分值" in html
    assert client.get("/points/school?school_id=999999").status_code == 404
    assert client.get("/points/school/export").status_code == 302


def test_another_term_is_picked_by_its_id(client, district, busy):
    past = periods.term_on(date(2024, 10, 8))
    db.session.commit()
    old = add_resource(district.teacher_a, title="旧学期的讲义", published_at=datetime(2024, 9, 1))
    db.session.add(UsageEvent(resource_id=old.id, lineage_id=old.lineage_id, user_id=district.student_a.id,
                              school_id=district.school_a.id, kind="download", at=datetime(2024, 10, 8, 2)))
    db.session.commit()
    recompute.recompute()
    login(client, "admin.a")
    html = client.get(f"/points/school?term_id={past.id}").get_data(as_text=True)
    assert past.name in html and "旧学期的讲义" in html and "勾股定理讲义" not in html
    assert "勾股定理讲义" in client.get("/points/school?term_id=abc").get_data(as_text=True)  # the current term


def test_the_weekly_trend_is_drawn_without_script_or_colour_and_given_as_a_table(client, district, busy):
    points = reports.school_report(district.school_a, periods.current_term()).figures.points
    login(client, "admin.a")
    html = client.get("/points/school").get_data(as_text=True)
    chart = html[html.index("<svg"):html.index("</svg>")]
    assert chart.count("<polyline") == 2 and 'stroke-dasharray="6 4"' in chart
    assert "<circle" in chart and "<rect" in chart and "学期第几周" in chart and f">{points}<" in chart
    assert "积分（实线，圆点）" in chart and "使用次数（虚线，方块）" in chart
    assert "每周数据表" in html and "第 1 周" in html
    assert " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_the_district_ranking_page_shows_the_ranking_the_formula_quality_and_update_rate(client, district, busy):
    usage.rate(district.student_b, busy, 5, "讲得清楚")
    login(client, "admin")
    response = client.get("/points/district")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert html.index("第一实验小学") < html.index("育才中学") < html.index("光明小学")
    assert "得分 = 0.4 × 贡献指数 + 0.3 × 使用指数 + 0.3 × 达标指数" in html
    assert "0.700" in html and "0.300" in html
    assert "资源质量排名" in html and "C = 5" in html and "目前 m = 5.00 星" in html
    assert "资源库年更新率" in html and "无法计算年更新率（目标：不低于 10%）" in html  # empty when the year began
    html = client.get("/points/district?year=2024").get_data(as_text=True)  # not a year the library knew: this one
    assert "无法计算年更新率" in html
    assert "全区每周趋势" in html and "<svg" in html
    assert f'href="/points/school?school_id={district.school_b.id}' in html
    set_weights(contribution=0, use=1, baseline=0)
    html = client.get("/points/district").get_data(as_text=True)
    assert "得分 = 0 × 贡献指数 + 1 × 使用指数 + 0 × 达标指数" in html
    assert html.index("育才中学") < html.index("第一实验小学")


def test_report_pages_read_the_totals_never_the_events_or_the_ledger(client, district, busy):
    login(client, "admin")
    with recorded_statements() as statements:
        for path in ("/points/district", f"/points/school?school_id={district.school_a.id}",
                     "/points/district/export", f"/points/school/export?school_id={district.school_a.id}"):
            assert client.get(path).status_code == 200
    touched = " ".join(statements).lower()
    assert "points_person_term" in touched and "points_school_day" in touched and "points_lineage_term" in touched
    assert "usage_event" not in touched and "points_entry" not in touched


def test_menu_links_go_to_each_admins_report(client, district):
    login(client, "admin.a")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/points/school"' in html and 'href="/points/district"' not in html
    logout(client)
    login(client, "admin")
    html = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/points/district"' in html
    logout(client)
    login(client, "teacher.a")
    html = client.get("/dashboard").get_data(as_text=True)
    assert "/points/school" not in html and "/points/district" not in html


# --- the exports ------------------------------------------------------------------------------

def sheet_rows(response) -> list[tuple]:
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store" and "attachment" in response.headers["Content-Disposition"]
    return list(load_workbook(BytesIO(response.data)).active.iter_rows(values_only=True))


def test_the_school_export_lists_everyone_measured_safely_and_is_audited(client, district, term, busy):
    district.student_a.real_name = "=1+1"
    busy.title = '=HYPERLINK("http://evil.example","点我")'
    db.session.commit()
    login(client, "admin.a")
    rows = sheet_rows(client.get("/points/school/export"))
    assert rows[0][:4] == ("姓名", "用户名", "学号/工号", "身份")
    people = {row[1]: row for row in rows[1:4]}
    assert set(people) == {"admin.a", "teacher.a", "student.a"}
    assert people["student.a"][0] == "'=1+1"  # text, not a formula
    assert people["student.a"][3:5] == ("学生", 60) and people["student.a"][9] == "已达标"
    assert people["admin.a"][8:] == (100, "未达标", 100)
    titles = [row[1] for row in rows if row and row[0] == 1 and isinstance(row[1], str) and "HYPERLINK" in row[1]]
    assert titles == ["'" + busy.title]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "points.exported"))
    assert event.actor_name == "admin.a" and event.school_id == district.school_a.id
    assert "第一实验小学" in event.detail and term.name in event.detail


def test_the_district_export_holds_the_ranking_and_the_quality_ranking(client, district, term, busy):
    busy.title = '=HYPERLINK("http://evil.example","点我")'
    district.school_c.name = "=SUM(A1:A9)"
    db.session.commit()
    usage.rate(district.student_b, busy, 4)
    login(client, "admin")
    rows = sheet_rows(client.get(f"/points/district/export?term_id={term.id}"))
    assert rows[0][:3] == ("排名", "学校", "参评人数") and rows[0][-1] == "得分"
    assert [row[:2] for row in rows[1:4]] == [(1, "第一实验小学"), (2, "育才中学"), (3, "'=SUM(A1:A9)")]
    assert rows[1][-1] == pytest.approx(0.7)
    quality = rows[rows.index(("资源质量排名",) + (None,) * (len(rows[0]) - 1)) + 2]
    assert quality[:4] == (1, "'" + busy.title, "第一实验小学", 1)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "points.exported"))
    assert event.actor_name == "admin" and term.name in event.detail
