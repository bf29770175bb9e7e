"""District competitions: who may set them up, their life cycle, and how many prizes an entry count allows."""
import re
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from plugins.awards.models import STATUSES, Competition
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.messages import in_district_language
from reslib.permissions import can
from reslib.services import audit

PRIZES = ("first", "second", "third")
# draft → open → judging → closed; a draft may also be called off (closed) before anyone saw it.
TRANSITIONS = {"draft": {"open", "closed"}, "open": {"judging"}, "judging": {"closed"}, "closed": set()}
MAX_ENTRIES = 1_000_000  # far beyond any district competition; keeps the calculator's input sane
_RATIO = re.compile(r"\s*(\d{1,3})\s*[:：]\s*(\d{1,3})\s*[:：]\s*(\d{1,3})\s*", re.ASCII)


def parse_ratio(text) -> tuple[int, int, int]:
    """'3:3:4' or '3：3：4' (full-width colon, as typed with a Chinese keyboard) → (3, 3, 4)."""
    match = _RATIO.fullmatch(text or "")
    parts = tuple(int(n) for n in match.groups()) if match else ()
    if len(parts) != 3 or 0 in parts:
        raise ReslibError(_("一、二、三等奖比例须为三个正整数，用冒号分隔，如 3:3:4"), field="prize_ratio")
    return parts


def check_max_rate(value) -> int:
    rate = _whole_number(value)
    if rate is None or not 0 < rate <= 100:
        raise ReslibError(_("获奖率上限须为 1 到 100 之间的整数（百分比）"), field="max_award_rate")
    return rate


def parse_entries(text) -> int:
    """The calculator's entry count as typed: a whole number from 0 to MAX_ENTRIES."""
    count = _whole_number(text)
    if count is None or not 0 <= count <= MAX_ENTRIES:
        raise ReslibError(_("参评作品数须为 0 到 %(max)s 之间的整数", max=MAX_ENTRIES), field="entries")
    return count


def allocate_prizes(entries: int, ratio="3:3:4", max_rate=80) -> dict:
    """Prizes for ``entries`` entries: at most ``max_rate``% of them win, split 1st:2nd:3rd by ``ratio``.

    Winners = floor(entries × max_rate / 100). Each prize gets the floor of its exact share; the winners
    left over go one each to the largest fractional remainders, ties to the LOWER prize, so rounding
    never inflates the first prize. E.g. 10 entries, 3:3:4, 80%: 8 winners, exact shares 2.4/2.4/3.2,
    floors 2/2/3, one left over; 1st and 2nd tie at .4, so it goes to 2nd → 2/3/3, 2 without a prize.
    """
    if isinstance(entries, bool) or not isinstance(entries, int):
        raise ReslibError(_("参评作品数须为 0 到 %(max)s 之间的整数", max=MAX_ENTRIES), field="entries")
    entries = parse_entries(entries)
    parts = parse_ratio(ratio)
    rate = check_max_rate(max_rate)
    winners = entries * rate // 100
    total = sum(parts)
    shares = [winners * part // total for part in parts]
    remainders = [winners * part % total for part in parts]
    left = winners - sum(shares)
    # Largest remainder first; among equal remainders the lower prize (higher index) first.
    for index in sorted(range(3), key=lambda i: (-remainders[i], -i))[:left]:
        shares[index] += 1
    return {**dict(zip(PRIZES, shares, strict=True)), "none": entries - winners}


def require_district_admin(user) -> None:
    if not can(user, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以设置区级评比。"), code="forbidden", status=403)


def list_competitions(user) -> list[Competition]:
    """Newest year first. Drafts are the district's work in progress: only its admins see them."""
    stmt = select(Competition).order_by(Competition.year.desc(), Competition.id.desc())
    if not can(user, "district.manage"):
        stmt = stmt.where(Competition.status != "draft")
    return list(db.session.scalars(stmt))


def open_competitions() -> list[Competition]:
    """Competitions collecting entries now, soonest deadline first (none last)."""
    stmt = select(Competition).where(Competition.status == "open").order_by(
        Competition.entry_deadline.is_(None), Competition.entry_deadline, Competition.id)
    return list(db.session.scalars(stmt))


def get_competition(user, competition_id: int) -> Competition:
    """The competition, or 404 — also for a draft the user may not see, so drafts do not leak."""
    competition = db.session.get(Competition, competition_id)
    if competition is None or (competition.status == "draft" and not can(user, "district.manage")):
        raise ReslibError(_("没有找到这个评比。"), code="not_found", status=404)
    return competition


def create_competition(actor, title, year, description=None, prize_ratio="3:3:4", max_award_rate=80,
                       entry_deadline=None) -> Competition:
    require_district_admin(actor)
    title = (title or "").strip()
    if not title:
        raise ReslibError(_("请填写评比名称"), field="title")
    if len(title) > 128:
        raise ReslibError(_("评比名称不能超过 128 个字"), field="title")
    year = _whole_number(year)
    if year is None or not 2000 <= year <= 2100:
        raise ReslibError(_("年度须为 2000 到 2100 之间的四位数字"), field="year")
    description = (description or "").strip() or None
    if description and len(description) > 2000:
        raise ReslibError(_("说明不能超过 2000 个字"), field="description")
    ratio = ":".join(str(n) for n in parse_ratio(prize_ratio))  # stored with ASCII colons
    rate = check_max_rate(max_award_rate)
    deadline = _date(entry_deadline)
    if db.session.scalar(select(Competition.id).where(Competition.title == title)) is not None:
        raise ReslibError(_("已有同名的评比，请换一个名称"), field="title")
    competition = Competition(title=title, year=year, description=description, prize_ratio=ratio,
                              max_award_rate=rate, entry_deadline=deadline, status="draft",
                              created_by_id=actor.id)
    db.session.add(competition)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same title saved by someone else a moment ago
        db.session.rollback()
        raise ReslibError(_("已有同名的评比，请换一个名称"), field="title") from exc
    audit.record("awards.competition_created", actor=actor, target=competition,
                 detail=f"{title} ({year}) {ratio} ≤{rate}%")
    db.session.commit()
    return competition


def set_status(actor, competition: Competition, status: str) -> Competition:
    require_district_admin(actor)
    if status not in STATUSES:
        raise ReslibError(_("未知的评比状态"), field="status")
    if status not in TRANSITIONS[competition.status]:
        raise ReslibError(_("评比不能从“%(old)s”改为“%(new)s”", old=competition.status_label,
                            new=str(STATUSES[status])), field="status", code="invalid_transition", status=409)
    old = competition.status
    competition.status = status
    with in_district_language():
        audit.record("awards.competition_status", actor=actor, target=competition, detail=f"{STATUSES[old]} → {STATUSES[status]}")
    db.session.commit()
    return competition


def _whole_number(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    # Ten digits at most: no field here needs more, and int() refuses very long digit strings anyway.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 10 else None


def _date(value) -> date | None:
    """A date, or the browser's YYYY-MM-DD text from a date input; empty means no deadline."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise ReslibError(_("截止日期格式应为 年-月-日，如 2026-05-31"), field="entry_deadline") from exc
