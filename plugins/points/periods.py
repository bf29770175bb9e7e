"""Terms (学期), school years (学年) and baselines (基本分值), all on the district's local calendar.

A term runs from its first day to the day before the next term starts. The district sets the days; where it has
not, a term starts on 1 September (第一学期) and on 1 February (第二学期), created when first needed, so that a term
never runs on for ever. A school year runs from 1 September to 31 August.

Someone who joins during a term (their account verified after its first day) has a baseline in proportion to
the days left: baseline × days from joining to the term's end ÷ the term's days, rounded up.
"""
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from plugins.points.models import Baseline, PointTerm
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import School
from reslib.models.accounts import ROLES as ROLE_NAMES
from reslib.models.base import as_id
from reslib.permissions import can
from reslib.services import audit
from reslib.templating import LOCAL_ZONE, local_day, local_today  # noqa: F401  (periods.local_day is used widely)

AUTUMN, SPRING = (9, 1), (2, 1)  # where a term starts when the district has not said
ROLES = ("teacher", "student")


def utc_start(day: date) -> datetime:
    """The naive UTC time at which the local ``day`` begins."""
    return datetime.combine(day, time.min, LOCAL_ZONE).astimezone(UTC).replace(tzinfo=None)


def school_year_of(day: date) -> int:
    """The first calendar year of the school year ``day`` falls in."""
    return day.year if (day.month, day.day) >= AUTUMN else day.year - 1


def default_start(day: date) -> date:
    """The first day of the default term ``day`` falls in."""
    if (day.month, day.day) >= AUTUMN:
        return date(day.year, *AUTUMN)
    if (day.month, day.day) >= SPRING:
        return date(day.year, *SPRING)
    return date(day.year - 1, *AUTUMN)


def next_default_start(day: date) -> date:
    """The first default term start after ``day``."""
    year = day.year
    return min(start for start in (date(year, *SPRING), date(year, *AUTUMN), date(year + 1, *SPRING)) if start > day)


def default_name(starts_on: date) -> str:
    """The name of a term the district has not named, in the reader's language."""
    year = school_year_of(starts_on)
    half = _("第一学期") if starts_on.month >= 8 or starts_on.month == 1 else _("第二学期")
    return _("%(first)s—%(second)s 学年%(half)s", first=year, second=year + 1, half=half)


@dataclass(frozen=True)
class Term:
    id: int
    name: str
    starts_on: date
    ends_on: date  # inclusive

    @property
    def days(self) -> int:
        return (self.ends_on - self.starts_on).days + 1

    def bounds(self) -> tuple[datetime, datetime]:
        """Naive UTC [start, end) of the term."""
        return utc_start(self.starts_on), utc_start(self.ends_on + timedelta(days=1))

    def __contains__(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


def _rows() -> list[PointTerm]:
    return list(db.session.scalars(select(PointTerm).order_by(PointTerm.starts_on)))


def terms() -> list[Term]:
    """Every term, oldest first, with its last day."""
    rows = _rows()
    found = []
    for row, following in zip(rows, [*rows[1:], None]):  # each with the next (None after the last)
        if following is not None:
            ends_on = following.starts_on - timedelta(days=1)
        else:  # the last term ends where the default next one would start
            ends_on = next_default_start(row.starts_on) - timedelta(days=1)
        found.append(Term(id=row.id, name=row.name or default_name(row.starts_on), starts_on=row.starts_on,
                          ends_on=ends_on))
    return found


def term_on(day: date) -> Term:
    """The term ``day`` falls in, created as the default one when no term covers it yet."""
    found = terms()
    started = [term for term in found if term.starts_on <= day]
    if not started or (started[-1] is found[-1] and day > started[-1].ends_on):
        _add_defaults(default_start(day))
        found = terms()
    return next(term for term in reversed(found) if term.starts_on <= day)


def ensure_terms(first: date, last: date) -> None:
    """Default terms wherever no term covers a day from ``first`` to ``last`` (before a recompute)."""
    day = first
    while day <= last:
        day = term_on(day).ends_on + timedelta(days=1)


def _add_defaults(starts_on: date) -> None:
    """The default term from ``starts_on``, and each default term after it up to the next term there is: a term
    runs until the next one starts, so without them one would swallow the terms between."""
    while True:
        try:
            with db.session.begin_nested():
                db.session.add(PointTerm(starts_on=starts_on, name=""))  # named in each reader's language
        except IntegrityError:
            pass  # another request added it first
        following = next_default_start(starts_on)
        later = db.session.scalar(select(func.min(PointTerm.starts_on)).where(PointTerm.starts_on > starts_on))
        if later is None or later <= following:
            return
        starts_on = following


def current_term() -> Term:
    return term_on(local_today())


def set_term(starts_on: date, name: str, term_id: int | None = None) -> PointTerm:
    """Add a term, or move or rename one; the caller commits and then rebuilds the totals (the days moved)."""
    name = (name or "").strip()
    if not name:
        raise ReslibError(_("请填写学期名称"), field="name")
    if len(name) > 64:
        raise ReslibError(_("学期名称不能超过 64 个字"), field="name")
    clash = db.session.scalar(select(PointTerm).where(PointTerm.starts_on == starts_on))
    if clash is not None and clash.id != term_id:
        raise ReslibError(_("已有学期从这一天开始：%(name)s", name=clash.name), field="starts_on")
    row = db.session.get(PointTerm, term_id) if term_id else PointTerm()
    if row is None:
        raise ReslibError(_("没有这个学期"), code="not_found", status=404)
    row.starts_on, row.name = starts_on, name
    db.session.add(row)
    db.session.flush()
    return row


# --- baselines ----------------------------------------------------------------------------------

def role_of(user) -> str | None:
    """A teacher is measured as a teacher even when also a student; admins and reviewers alone are not measured."""
    return "teacher" if user.has_role("teacher") else "student" if user.has_role("student") else None


def baselines(term: Term) -> dict[tuple[str, int | None], int]:
    """{(role, school id or None for the district's figure): points} for the term, the configured defaults
    filled in."""
    found = {(role, None): int(points) for role, points in current_app.config["POINTS_BASELINES"].items()
             if role in ROLES}
    for row in db.session.scalars(select(Baseline).where(Baseline.term_id == term.id)):
        found[(row.role, row.school_id)] = row.points
    return found


def set_baseline(term: Term, role: str, points, school_id: int | None = None) -> None:
    """Set (or, with points None, remove) a baseline; the caller commits."""
    if role not in ROLES:
        raise ReslibError(_("身份应为教师或学生"), field="role")
    row = db.session.scalar(select(Baseline).where(Baseline.term_id == term.id, Baseline.role == role,
                                                   Baseline.school_id.is_(None) if school_id is None
                                                   else Baseline.school_id == school_id))
    if points is None:
        if row is not None:
            db.session.delete(row)
        return
    if isinstance(points, str):
        points = points.strip()
        if not points.isdigit():
            raise ReslibError(_("基本分值应为不小于 0 的整数"), field="points")
        points = int(points)
    if isinstance(points, bool) or not isinstance(points, int) or not 0 <= points <= 100_000:
        raise ReslibError(_("基本分值应为 0 到 100000 之间的整数"), field="points")
    if row is None:
        row = Baseline(term_id=term.id, role=role, school_id=school_id, points=points)
        db.session.add(row)
    row.points = points


def baseline_of(user, term: Term, table: dict | None = None) -> int | None:
    """The person's baseline in the term (pro-rated when they joined during it); None when not measured."""
    role = role_of(user)
    if role is None:
        return None
    table = baselines(term) if table is None else table
    full = table.get((role, user.school_id), table.get((role, None)))
    if full is None:
        return None
    joined = local_day(user.verified_at or user.created_at)
    if joined <= term.starts_on:
        return full
    if joined > term.ends_on:
        return 0
    return math.ceil(full * ((term.ends_on - joined).days + 1) / term.days)


# --- the district admin's changes (学期与基本分值) -------------------------------------------------------

EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)  # a day typed outside these is a typing mistake


def parse_day(value, field: str) -> date:
    """A local day from a date or its text as a date box sends it (2026-09-01); ReslibError on ``field`` else."""
    if not isinstance(value, date):
        text = (value or "").strip() if isinstance(value, str) else ""
        if not text:
            raise ReslibError(_("请填写日期"), field=field)
        try:
            value = date.fromisoformat(text)
        except ValueError:
            raise ReslibError(_("日期应为“年-月-日”，例如 2026-09-01"), field=field) from None
    if not EARLIEST <= value <= LATEST:
        raise ReslibError(_("日期应在 %(first)s 到 %(last)s 之间", first=EARLIEST.isoformat(), last=LATEST.isoformat()),
                          field=field)
    return value


def _require_district(actor) -> None:
    if not can(actor, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以设置学期与基本分值"), code="forbidden", status=403)


def save_term(actor, starts_on, name: str, term_id: int | None = None) -> PointTerm:
    """Add a term, or move or rename one (``term_id``); when days moved, every total is rebuilt on the new days
    (totals are per term). Audited and committed."""
    _require_district(actor)
    starts_on = parse_day(starts_on, "starts_on")
    row = db.session.get(PointTerm, term_id) if term_id else None
    before = (row.name or default_name(row.starts_on), row.starts_on) if row is not None else None
    row = set_term(starts_on, name, term_id)
    if before is None or before[1] != starts_on:
        from plugins.points import recompute  # it reads the terms: imported here, not at the top

        recompute.rebuild_totals()
    if before is None:
        detail = _l("添加学期“%(name)s”，%(day)s 开始", name=row.name, day=starts_on.isoformat())
    else:
        detail = _l("学期“%(old)s”（%(old_day)s 开始）改为“%(name)s”（%(day)s 开始）", old=before[0],
                    old_day=before[1].isoformat(), name=row.name, day=starts_on.isoformat())
    audit.record("points.terms", actor=actor, detail=detail)
    db.session.commit()
    return row


def save_baseline(actor, term_id, role: str, points, school_id=None) -> None:
    """Set a term's baseline for a role, the district's (``school_id`` None or "") or a school's; with ``points``
    None or "" remove it (a school's then follows the district's, the district's the configured default).
    Audited and committed."""
    _require_district(actor)
    term = next((term for term in terms() if term.id == as_id(term_id)), None)
    if term is None:
        raise ReslibError(_("没有这个学期"), code="not_found", status=404)
    school = None
    if school_id not in (None, ""):
        school = db.session.get(School, as_id(school_id)) if as_id(school_id) else None
        if school is None:
            raise ReslibError(_("没有这所学校"), field="school_id")
    if isinstance(points, str) and not points.strip():
        points = None
    set_baseline(term, role, points, school.id if school else None)
    where = school.name if school else _l("全区")
    if points is None:
        detail = _l("%(term)s：%(where)s%(role)s的基本分值改回默认", term=term.name, where=where, role=ROLE_NAMES[role])
    else:
        detail = _l("%(term)s：%(where)s%(role)s的基本分值设为 %(points)s", term=term.name, where=where,
                    role=ROLE_NAMES[role], points=str(points).strip())
    audit.record("points.terms", actor=actor, target=school, detail=detail)
    db.session.commit()
