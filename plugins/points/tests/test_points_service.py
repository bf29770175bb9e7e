"""Manual awards, the ledger, terms and the standing against the baseline."""
import uuid
from datetime import date, datetime

import pytest
from sqlalchemy import select

from plugins.points import earning, periods, service
from plugins.points.models import PointEntry
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AppendOnlyViolation, AuditEvent


def span(term):
    return term.starts_on, term.ends_on


def test_default_terms_start_on_1_september_and_1_february(app):
    assert span(periods.term_on(date(2025, 10, 8))) == (date(2025, 9, 1), date(2026, 1, 31))
    assert span(periods.term_on(date(2026, 1, 31))) == (date(2025, 9, 1), date(2026, 1, 31))
    assert span(periods.term_on(date(2026, 3, 15))) == (date(2026, 2, 1), date(2026, 8, 31))
    assert span(periods.term_on(date(2026, 8, 31))) == (date(2026, 2, 1), date(2026, 8, 31))
    assert span(periods.term_on(date(2026, 9, 1))) == (date(2026, 9, 1), date(2027, 1, 31))
    assert periods.term_on(date(2026, 9, 1)).name == "2026—2027 学年第一学期"
    assert periods.term_on(date(2026, 3, 1)).name == "2025—2026 学年第二学期"


def test_the_districts_own_term_dates_move_the_boundaries(app):
    autumn = periods.term_on(date(2026, 10, 1))
    periods.set_term(date(2027, 2, 20), "2026—2027 学年第二学期（推迟开学）")
    db.session.commit()
    assert span(periods.term_on(date(2027, 2, 19))) == (autumn.starts_on, date(2027, 2, 19))
    assert span(periods.term_on(date(2027, 2, 20))) == (date(2027, 2, 20), date(2027, 8, 31))
    with pytest.raises(ReslibError) as refused:
        periods.set_term(date(2027, 2, 20), "重复")
    assert refused.value.field == "starts_on"


def test_only_a_district_admin_may_award(district):
    for actor in (district.admin_a, district.teacher_a, district.reviewer):
        with pytest.raises(ReslibError) as refused:
            service.award(actor, district.student_a, 5, "课堂展示")
        assert refused.value.status == 403
    assert db.session.scalars(select(PointEntry)).all() == []


@pytest.mark.parametrize("amount, message", [
    (0, "不能为 0"), (1001, "最多"), (-1001, "最多"), ("abc", "整数"), ("", "整数"), (2.5, "整数"), (True, "整数"),
])
def test_award_refuses_bad_amounts(district, amount, message):
    with pytest.raises(ReslibError) as refused:
        service.award(district.district_admin, district.teacher_a, amount, "教研活动")
    assert refused.value.field == "amount" and message in refused.value.message
    assert db.session.scalars(select(PointEntry)).all() == []


@pytest.mark.parametrize("reason", ["", "   ", None, "长" * 256])
def test_award_needs_a_reason_that_fits(district, reason):
    with pytest.raises(ReslibError) as refused:
        service.award(district.district_admin, district.teacher_a, 5, reason)
    assert refused.value.field == "reason"
    assert db.session.scalars(select(PointEntry)).all() == []


def test_award_accepts_the_limits_and_typed_text(district):
    service.award(district.district_admin, district.teacher_a, 1000, "区级公开课")
    service.award(district.district_admin, district.teacher_a, " -1000 ", "更正：重复记分")
    service.award(district.district_admin, district.teacher_a, "+7", "  教研活动  ")
    amounts = [(e.amount, e.reason) for e in service.history(district.teacher_a, per_page=5).items]
    assert amounts == [(7, "教研活动"), (-1000, "更正：重复记分"), (1000, "区级公开课")]


def test_admin_cannot_award_themself(district):
    with pytest.raises(ReslibError) as refused:
        service.award(district.district_admin, district.district_admin, 5, "自评")
    assert refused.value.field == "username"


def test_award_writes_the_entry_and_its_audit_event(district):
    entry = service.award(district.district_admin, district.teacher_a, -3, "更正：上周多记")
    db.session.expire_all()  # read back what was committed
    stored = db.session.get(PointEntry, entry.id)
    assert (stored.user_id, stored.amount, stored.kind, stored.awarded_by_id) == (
        district.teacher_a.id, -3, "manual", district.district_admin.id)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "points.awarded"))
    assert event.actor_name == "admin" and event.target == "account:teacher.a"
    assert event.detail == "-3 更正：上周多记"
    assert event.school_id == district.school_a.id  # so the school's admins see it in their log


def test_entries_cannot_be_edited_or_deleted(district):
    entry = service.award(district.district_admin, district.teacher_a, 5, "教研活动")
    entry.amount = 50
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(PointEntry, entry.id))
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(PointEntry, entry.id).amount == 5


def _entry(user, amount, at):
    earning.write_entry(earning.new_entry(user.id, amount, "manual", f"manual:{uuid.uuid4().hex}", None, None,
                                          user.school_id, at, "测试"))


def test_balance_counts_only_the_term_in_local_time_with_corrections(district):
    teacher = district.teacher_a
    _entry(teacher, 40, datetime(2025, 8, 31, 15, 59))  # 23:59 on 31 August in Beijing: last school year
    _entry(teacher, 30, datetime(2025, 8, 31, 16, 0))  # 00:00 on 1 September in Beijing: this term
    _entry(teacher, 20, datetime(2026, 1, 5, 2, 0))
    _entry(teacher, -5, datetime(2026, 1, 6, 2, 0))  # a correction
    _entry(teacher, 9, datetime(2026, 1, 31, 16, 0))  # 1 February in Beijing: the next term
    _entry(district.teacher_b, 99, datetime(2026, 1, 5, 2, 0))  # someone else
    db.session.commit()
    assert service.balance(teacher, periods.term_on(date(2025, 8, 31))) == 40
    assert service.balance(teacher, periods.term_on(date(2025, 9, 1))) == 45
    assert service.balance(teacher, periods.term_on(date(2026, 2, 1))) == 9
    assert service.balance(district.student_a, periods.term_on(date(2025, 9, 1))) == 0


def test_standing_uses_the_baseline_of_the_role(district):
    term = periods.term_on(date(2026, 3, 10))
    for user in (district.teacher_a, district.student_a, district.admin_a, district.district_admin):
        user.verified_at = user.created_at = datetime(2025, 1, 1)
    _entry(district.teacher_a, 100, datetime(2026, 3, 5))
    _entry(district.student_a, 35, datetime(2026, 3, 5))
    _entry(district.admin_a, 20, datetime(2026, 3, 5))  # school admin who also teaches
    db.session.commit()
    teacher = service.standing(district.teacher_a, term)
    assert (teacher.total, teacher.baseline, teacher.reached, teacher.percent) == (100, 100, True, 100)
    student = service.standing(district.student_a, term)
    assert (student.total, student.baseline, student.reached, student.percent) == (35, 60, False, 58)
    assert service.standing(district.admin_a, term).baseline == 100
    admin = service.standing(district.district_admin, term)
    assert (admin.total, admin.baseline, admin.reached) == (0, None, False)


def test_someone_who_joins_during_a_term_has_a_baseline_for_the_days_left(district):
    term = periods.term_on(date(2026, 3, 10))  # 2026-02-01 – 2026-08-31, 212 days
    district.student_a.verified_at = datetime(2026, 6, 30, 16, 0)  # 1 July in Beijing: 62 days left
    assert periods.baseline_of(district.student_a, term) == 18  # 60 × 62 / 212 = 17.5, rounded up
    district.student_a.verified_at = datetime(2027, 1, 1)
    assert periods.baseline_of(district.student_a, term) == 0


def test_a_term_baseline_and_a_schools_own_override_the_configured_ones(district):
    term = periods.term_on(date(2026, 3, 10))
    district.teacher_a.verified_at = district.teacher_b.verified_at = datetime(2025, 1, 1)
    periods.set_baseline(term, "teacher", "80")
    periods.set_baseline(term, "teacher", 90, school_id=district.school_b.id)
    db.session.commit()
    assert periods.baseline_of(district.teacher_a, term) == 80
    assert periods.baseline_of(district.teacher_b, term) == 90
    with pytest.raises(ReslibError):
        periods.set_baseline(term, "teacher", "-1")


@pytest.mark.parametrize("app_config", [{"POINTS_BASELINES": {"teacher": 120, "student": 50}}])
def test_district_configuration_overrides_the_default_baselines(district):
    term = periods.term_on(date(2026, 3, 10))
    district.teacher_a.verified_at = district.student_a.verified_at = datetime(2025, 1, 1)
    assert periods.baseline_of(district.teacher_a, term) == 120
    assert periods.baseline_of(district.student_a, term) == 50
