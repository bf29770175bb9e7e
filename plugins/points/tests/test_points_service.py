"""The ledger, the school-year period and the standing against the baseline."""
from datetime import date, datetime

import pytest
from sqlalchemy import select

from plugins.points import service
from plugins.points.models import PointEntry
from reslib.models import AppendOnlyViolation
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AuditEvent


def test_period_is_the_school_year_in_autumn_and_in_spring(app):
    assert service.current_period(date(2025, 10, 8)) == (date(2025, 9, 1), date(2026, 8, 31))
    assert service.current_period(date(2026, 3, 15)) == (date(2025, 9, 1), date(2026, 8, 31))
    assert service.current_period(date(2026, 8, 31)) == (date(2025, 9, 1), date(2026, 8, 31))
    assert service.current_period(date(2026, 9, 1)) == (date(2026, 9, 1), date(2027, 8, 31))


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
    amounts = [(e.amount, e.reason) for e in service.entries(district.teacher_a, 5)]
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
    db.session.add(PointEntry(user_id=user.id, amount=amount, reason="测试", created_at=at))


def test_balance_counts_only_the_period_in_local_time_with_corrections(district):
    teacher = district.teacher_a
    _entry(teacher, 40, datetime(2025, 8, 31, 15, 59))  # 23:59 on 31 August in Beijing: last school year
    _entry(teacher, 30, datetime(2025, 8, 31, 16, 0))  # 00:00 on 1 September in Beijing: this school year
    _entry(teacher, 20, datetime(2026, 3, 2, 2, 0))
    _entry(teacher, -5, datetime(2026, 3, 3, 2, 0))  # a correction
    _entry(teacher, 9, datetime(2026, 8, 31, 16, 0))  # next school year
    _entry(district.teacher_b, 99, datetime(2026, 3, 2, 2, 0))  # someone else
    db.session.commit()
    assert service.balance(teacher, (date(2024, 9, 1), date(2025, 8, 31))) == 40
    assert service.balance(teacher, (date(2025, 9, 1), date(2026, 8, 31))) == 45
    assert service.balance(teacher, (date(2026, 9, 1), date(2027, 8, 31))) == 9
    assert service.balance(district.student_a, (date(2025, 9, 1), date(2026, 8, 31))) == 0


def test_standing_uses_the_baseline_of_the_role(district):
    today = date(2026, 3, 10)
    _entry(district.teacher_a, 100, datetime(2026, 1, 5))
    _entry(district.student_a, 35, datetime(2026, 1, 5))
    _entry(district.admin_a, 20, datetime(2026, 1, 5))  # school admin who also teaches
    db.session.commit()
    assert service.standing(district.teacher_a, today) == service.Standing(
        100, 100, True, (date(2025, 9, 1), date(2026, 8, 31)))
    student = service.standing(district.student_a, today)
    assert (student.total, student.baseline, student.reached) == (35, 60, False)
    assert service.standing(district.admin_a, today).baseline == 100
    admin = service.standing(district.district_admin, today)
    assert (admin.total, admin.baseline, admin.reached) == (0, None, False)


@pytest.mark.parametrize("app_config", [{"POINTS_BASELINES": {"teacher": 120, "student": 50}}])
def test_district_configuration_overrides_the_default_baselines(district):
    assert service.baseline_for(district.teacher_a) == 120
    assert service.baseline_for(district.student_a) == 50
