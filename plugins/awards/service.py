"""District competitions: who may set them up, their settings and categories, their life cycle, and how many
prizes an entry count allows."""
import json
import re
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from plugins.awards.models import DEFAULT_RUBRIC, STATUSES, Category, Competition, Entry
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.messages import in_district_language
from reslib.models import School, Term
from reslib.models.library import KINDS
from reslib.permissions import can
from reslib.services import audit
from reslib.templating import local_today

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
                       entry_deadline=None, **settings) -> Competition:
    """A draft with one category (综合) under its prize rule; ``settings`` as for ``update_settings``. Commits."""
    require_district_admin(actor)
    competition = Competition(status="draft", created_by_id=actor.id, rubric_json=_dump(DEFAULT_RUBRIC))
    _apply(competition, title=title, year=year, description=description, prize_ratio=prize_ratio,
           max_award_rate=max_award_rate, entry_deadline=entry_deadline, **settings)
    competition.categories.append(Category(name="综合", section="", prize_ratio=competition.prize_ratio,
                                           max_award_rate=competition.max_award_rate))
    db.session.add(competition)
    _flush_title(competition)
    audit.record("awards.competition_created", actor=actor, target=competition,
                 detail=f"{competition.title} ({competition.year}) {competition.prize_ratio} ≤{competition.max_award_rate}%")
    db.session.commit()
    return competition


def update_settings(actor, competition: Competition, **settings) -> Competition:
    """Change what the district admin set up, while entries are still being collected. Commits."""
    require_district_admin(actor)
    if competition.status not in ("draft", "open"):
        raise ReslibError(_("评审开始后不能再修改评比设置"), code="judging", status=409)
    old_rule = (competition.prize_ratio, competition.max_award_rate)
    _apply(competition, **settings)
    for category in competition.categories:  # those that followed the competition's rule follow it still
        if (category.prize_ratio, category.max_award_rate) == old_rule:
            category.prize_ratio, category.max_award_rate = competition.prize_ratio, competition.max_award_rate
    _flush_title(competition)
    audit.record("awards.competition_settings", actor=actor, target=competition, detail=competition.title)
    db.session.commit()
    return competition


def _flush_title(competition: Competition) -> None:
    with db.session.no_autoflush:  # the competition itself is not a clash
        stmt = select(Competition.id).where(Competition.title == competition.title)
        if competition.id is not None:
            stmt = stmt.where(Competition.id != competition.id)
        clash = db.session.scalar(stmt)
    if clash is not None:
        db.session.rollback()
        raise ReslibError(_("已有同名的评比，请换一个名称"), field="title")
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same title saved by someone else a moment ago
        db.session.rollback()
        raise ReslibError(_("已有同名的评比，请换一个名称"), field="title") from exc


def _apply(competition: Competition, **settings) -> None:
    """Check each setting given and set it; a bad one is refused naming its field, before anything changes."""
    checked = {}
    for name, value in settings.items():
        checked[name] = CHECKS[name](value)
    for name, value in checked.items():
        setattr(competition, SETTING_COLUMNS.get(name, name), value)


def _title(value) -> str:
    title = (value or "").strip()
    if not title:
        raise ReslibError(_("请填写评比名称"), field="title")
    if len(title) > 128:
        raise ReslibError(_("评比名称不能超过 128 个字"), field="title")
    return title


def _year(value) -> int:
    year = _whole_number(value)
    if year is None or not 2000 <= year <= 2100:
        raise ReslibError(_("年度须为 2000 到 2100 之间的四位数字"), field="year")
    return year


def _description(value) -> str | None:
    description = (value or "").strip() or None
    if description and len(description) > 2000:
        raise ReslibError(_("说明不能超过 2000 个字"), field="description")
    return description


def _bounded(field: str, low: int, high: int, optional=False):
    def check(value):
        if optional and (value is None or str(value).strip() == ""):
            return None
        number = _whole_number(value)
        if number is None or not low <= number <= high:
            raise ReslibError(_("应为 %(low)s 到 %(high)s 之间的整数", low=low, high=high), field=field)
        return number
    return check


def _roles(value) -> str:
    roles = [role for role in (value or []) if role in ("teacher", "student")]
    if not roles:
        raise ReslibError(_("请至少选择一种参评身份"), field="eligible_roles")
    return ",".join(roles)


def _schools(value) -> str:
    ids = sorted({int(v) for v in (value or []) if str(v).isascii() and str(v).isdigit()})
    if ids and len(db.session.scalars(select(School.id).where(School.id.in_(ids))).all()) != len(ids):
        raise ReslibError(_("没有这所学校"), field="eligible_schools")
    return json.dumps(ids)


def parse_rubric(text) -> list[dict]:
    """One criterion a line: 名称|分值|说明|需评语 (是/否); the values add up to 100."""
    rubric = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in re.split(r"[|｜]", line)]
        parts += [""] * (4 - len(parts))
        name, weight, descriptor, comment = parts[:4]
        weight = _whole_number(weight)
        if not name or len(name) > 32 or weight is None or not 1 <= weight <= 100 or len(descriptor) > 200:
            raise ReslibError(_("第 %(n)s 行应为“名称|分值|说明|需评语”，名称不超过 32 个字，分值为 1 到 100 的整数",
                                n=number), field="rubric")
        rubric.append({"name": name, "weight": weight, "descriptor": descriptor, "comment": comment in ("是", "yes", "y", "1")})
    if not rubric or len(rubric) > 12:
        raise ReslibError(_("评分标准应有 1 到 12 项"), field="rubric")
    if sum(criterion["weight"] for criterion in rubric) != 100:
        raise ReslibError(_("各项分值之和应为 100"), field="rubric")
    return rubric


def rubric_text(rubric: list[dict]) -> str:
    return "\n".join(f"{c['name']}|{c['weight']}|{c['descriptor']}|{'是' if c['comment'] else '否'}" for c in rubric)


def _dump(rubric: list[dict]) -> str:
    return json.dumps(rubric, ensure_ascii=False)


CHECKS = {
    "title": _title, "year": _year, "description": _description,
    "prize_ratio": lambda value: ":".join(str(n) for n in parse_ratio(value)),  # stored with ASCII colons
    "max_award_rate": lambda value: check_max_rate(value),
    "opens_on": lambda value: _date(value, "opens_on"), "entry_deadline": lambda value: _date(value),
    "eligible_roles": _roles, "eligible_schools": _schools,
    "per_teacher": _bounded("per_teacher", 1, 50), "school_quota": _bounded("school_quota", 1, 1000, optional=True),
    "max_authors": _bounded("max_authors", 1, 10), "judges_per_entry": _bounded("judges_per_entry", 1, 9),
    "disagreement_margin": _bounded("disagreement_margin", 0, 100), "blind": bool,
    "rubric": lambda value: _dump(parse_rubric(value)),
}
SETTING_COLUMNS = {"eligible_schools": "eligible_schools_json", "rubric": "rubric_json"}


def add_category(actor, competition: Competition, name, kind=None, subject_id=None, stage_id=None, form_id=None,
                 section="", prize_ratio=None, max_award_rate=None) -> Category:
    require_district_admin(actor)
    if competition.status not in ("draft", "open"):
        raise ReslibError(_("评审开始后不能再修改组别"), code="judging", status=409)
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ReslibError(_("请填写组别名称（不超过 64 个字）"), field="name")
    if kind and kind not in KINDS:
        raise ReslibError(_("未知的资源类型"), field="kind")
    terms = {"subject_id": subject_id, "stage_id": stage_id, "form_id": form_id}
    for field, value in list(terms.items()):
        terms[field] = _whole_number(value) if value not in (None, "") else None
        vocabulary = field.removesuffix("_id")
        if terms[field] is not None:
            term = db.session.get(Term, terms[field])
            if term is None or term.vocabulary != vocabulary:
                raise ReslibError(_("请从列表中选择"), field=field)
    section = (section or "").strip()
    if len(section) > 32:
        raise ReslibError(_("版块名称不能超过 32 个字"), field="section")
    ratio = ":".join(str(n) for n in parse_ratio(prize_ratio or competition.prize_ratio))
    rate = check_max_rate(max_award_rate or competition.max_award_rate)
    category = Category(competition_id=competition.id, name=name, kind=kind or None, section=section,
                        prize_ratio=ratio, max_award_rate=rate, **terms)
    db.session.add(category)
    audit.record("awards.competition_settings", actor=actor, target=competition, detail=f"+ {name}")
    db.session.commit()
    return category


def remove_category(actor, category: Category) -> None:
    require_district_admin(actor)
    competition = category.competition
    if competition.status not in ("draft", "open"):
        raise ReslibError(_("评审开始后不能再修改组别"), code="judging", status=409)
    if db.session.scalar(select(Entry.id).where(Entry.category_id == category.id).limit(1)):
        raise ReslibError(_("这个组别已有作品报名，不能删除"), code="in_use", status=409)
    if len(competition.categories) == 1:
        raise ReslibError(_("评比至少要有一个组别"), code="last", status=409)
    audit.record("awards.competition_settings", actor=actor, target=competition, detail=f"- {category.name}")
    db.session.delete(category)
    db.session.commit()


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


def _date(value, field="entry_deadline") -> date | None:
    """A date, or the browser's YYYY-MM-DD text from a date input; empty means none."""
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        message = _("截止日期格式应为 年-月-日，如 2026-05-31") if field == "entry_deadline" else \
            _("开始日期格式应为 年-月-日，如 2026-03-01")
        raise ReslibError(message, field=field) from exc


def demo_competition() -> str:
    """An open competition for the demo district (``demo_loaded``); returns the thing to try with it."""
    from plugins.awards import judging
    from reslib.services.accounts import user_by_username

    admin = user_by_username("admin")
    today = local_today()
    competition = create_competition(admin, f"{today.year} 年度优秀微课评比", today.year,
                                     "全区中小学教师原创微课评比，一、二、三等奖按 3:3:4 评定。",
                                     entry_deadline=today + timedelta(days=30))
    set_status(admin, competition, "open")
    for reviewer in ("reviewer1", "reviewer2", "reviewer3"):
        judging.add_judge(admin, competition, reviewer)
    return f"用 dc02.t1 登录，在“区级评比”中用自己的微课报名正在征集的“{competition.title}”。"
