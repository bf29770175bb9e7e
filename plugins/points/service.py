"""Awarding points and reading a person's standing against the baseline (基本分值) of their role."""
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from plugins.points.models import PointEntry
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import User
from reslib.permissions import can
from reslib.services import accounts, audit
from reslib.templating import LOCAL_ZONE

MAX_AMOUNT = 1000  # per manual award: larger numbers are almost always typing mistakes
SCHOOL_YEAR_START_MONTH = 9  # the school year runs 1 September – 31 August


@dataclass(frozen=True)
class Standing:
    total: int
    baseline: int | None  # None: the person's roles have no baseline
    reached: bool
    period: tuple[date, date]


def local_today() -> date:
    return datetime.now(LOCAL_ZONE).date()


def current_period(today: date | None = None, kind: str | None = None) -> tuple[date, date]:
    """The first and last day (inclusive) of the period ``today`` falls in."""
    today = today or local_today()
    kind = kind or current_app.config["POINTS_PERIOD"]
    if kind != "year":
        raise ValueError(f"POINTS_PERIOD {kind!r} is not supported; use 'year' (the school year)")
    first_year = today.year if today.month >= SCHOOL_YEAR_START_MONTH else today.year - 1
    return date(first_year, SCHOOL_YEAR_START_MONTH, 1), date(first_year + 1, SCHOOL_YEAR_START_MONTH, 1) - timedelta(days=1)


def _utc_bounds(period: tuple[date, date]) -> tuple[datetime, datetime]:
    # Periods are local calendar days; timestamps are stored in naive UTC.
    def utc(day):
        return datetime.combine(day, time.min, LOCAL_ZONE).astimezone(UTC).replace(tzinfo=None)

    start, end = period
    return utc(start), utc(end + timedelta(days=1))


def check_amount(amount) -> int:
    """An int, or the text of one as typed in the form; non-zero and within ±MAX_AMOUNT."""
    if isinstance(amount, str):
        try:
            amount = int(amount.strip())
        except ValueError:
            raise ReslibError(_("分值须为整数，例如 5 或 -3"), field="amount") from None
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ReslibError(_("分值须为整数，例如 5 或 -3"), field="amount")
    if amount == 0:
        raise ReslibError(_("分值不能为 0"), field="amount")
    if abs(amount) > MAX_AMOUNT:
        raise ReslibError(_("每次最多加减 %(n)s 分", n=MAX_AMOUNT), field="amount")
    return amount


def find_account(username: str) -> User:
    user = accounts.user_by_username(username)
    if user is None:
        raise ReslibError(_("没有用户名为“%(name)s”的账号", name=(username or "").strip()), field="username",
                          code="not_found")
    return user


def award(actor, user: User, amount, reason: str) -> PointEntry:
    """Record a manual award (or, with a negative amount, a deduction or correction) and audit it."""
    if not can(actor, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以手动记分"), code="forbidden", status=403)
    if user.id == getattr(actor, "id", None):
        raise ReslibError(_("不能给自己记分"), field="username", code="conflict")
    amount = check_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ReslibError(_("请填写记分原因"), field="reason")
    if len(reason) > 255:
        raise ReslibError(_("原因不能超过 255 个字"), field="reason")
    entry = PointEntry(user_id=user.id, amount=amount, reason=reason, kind="manual", awarded_by_id=actor.id)
    db.session.add(entry)
    audit.record("points.awarded", actor=actor, target=user, detail=f"{amount:+d} {reason}")
    db.session.commit()
    return entry


def balance(user: User, period: tuple[date, date]) -> int:
    start, end = _utc_bounds(period)
    total = db.session.scalar(
        select(func.sum(PointEntry.amount)).where(
            PointEntry.user_id == user.id, PointEntry.created_at >= start, PointEntry.created_at < end
        )
    )
    return int(total or 0)


def entries(user: User, limit: int = 5) -> list[PointEntry]:
    """The person's newest entries, of any period."""
    stmt = select(PointEntry).where(PointEntry.user_id == user.id).order_by(PointEntry.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def recent_awards(limit: int = 20) -> list[PointEntry]:
    stmt = select(PointEntry).where(PointEntry.kind == "manual").order_by(PointEntry.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def baseline_for(user: User) -> int | None:
    """A teacher is measured as a teacher even when also a student; admins and reviewers alone have none."""
    baselines = current_app.config["POINTS_BASELINES"]
    role = "teacher" if user.has_role("teacher") else "student" if user.has_role("student") else None
    value = baselines.get(role) if role else None
    return None if value is None else int(value)


def standing(user: User, today: date | None = None) -> Standing:
    period = current_period(today)
    total = balance(user, period)
    baseline = baseline_for(user)
    return Standing(total=total, baseline=baseline, reached=baseline is not None and total >= baseline, period=period)
