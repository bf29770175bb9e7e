"""A round's recommendation quotas per unit and section (推荐名额分配表): reading the grid and letting the district
admin set it."""
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Unit, utcnow
from reslib.permissions import can
from reslib.services import audit
from reslib.templating import LOCAL_ZONE

from plugins.sync_provincial.models import RecommendationQuota, RecommendationRound

MAX_QUOTA = 999
MIN_YEAR, MAX_YEAR = 2000, 2100


class QuotaError(ReslibError):
    """Some cells were refused; ``cells`` maps (unit_id, section) to the reason, so a form can mark each one."""

    def __init__(self, cells: dict[tuple[int, str], str]):
        self.cells = cells
        super().__init__("；".join(cells.values()), code="invalid_quota")


@dataclass
class QuotaRow:
    unit: Unit
    quotas: list[int]  # in the order of the round's sections
    total: int


@dataclass
class QuotaTable:
    round: RecommendationRound
    sections: tuple[str, ...]
    rows: list[QuotaRow]
    section_totals: list[int]
    total: int


def current_year() -> int:
    # The notices are dated in Beijing time; a UTC year would turn over eight hours late.
    return datetime.now(LOCAL_ZONE).year


def check_year(year) -> int:
    if not isinstance(year, int) or isinstance(year, bool) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ReslibError(_("年份应在 %(low)s 到 %(high)s 之间。", low=MIN_YEAR, high=MAX_YEAR), field="year")
    return year


def quota_table(round_: RecommendationRound, *, unit_id: int | None = None) -> QuotaTable:
    """Every unit (by name; only ``unit_id`` when given, a school's own) × each of the round's sections, 0 where
    nothing was set, with row, column and grand totals."""
    sections = tuple(round_.section_list())
    units_stmt = select(Unit).order_by(Unit.name)
    if unit_id is not None:
        units_stmt = units_stmt.where(Unit.id == unit_id)
    units = db.session.scalars(units_stmt).all()
    stored = {
        (row.unit_id, row.section): row.quota
        for row in db.session.scalars(select(RecommendationQuota).where(RecommendationQuota.round_id == round_.id))
    }
    rows = []
    for unit in units:
        quotas = [stored.get((unit.id, section), 0) for section in sections]
        rows.append(QuotaRow(unit=unit, quotas=quotas, total=sum(quotas)))
    section_totals = [sum(row.quotas[i] for row in rows) for i in range(len(sections))]
    return QuotaTable(round=round_, sections=sections, rows=rows, section_totals=section_totals,
                      total=sum(section_totals))


def set_quotas(actor, round_: RecommendationRound, values: dict[tuple[int, str], int | str]) -> int:
    """Set the given cells of ``round_`` (an empty cell means 0) and return how many changed.

    All cells are checked before anything is written, so a bad cell saves nothing.
    """
    if not can(actor, "district.manage"):  # quotas are the district's decision
        raise ReslibError(_("只有区教育局管理员可以分配推荐名额。"), code="forbidden", status=403)
    units = {unit.id: unit for unit in db.session.scalars(select(Unit))}
    sections = round_.section_list()
    wanted, problems = {}, {}
    for (unit_id, section), raw in values.items():
        unit = units.get(unit_id)
        if unit is None or section not in sections:
            problems[(unit_id, section)] = _("没有这个单位或版块（%(unit)s · %(section)s），请刷新页面后重试。",
                                             unit=unit_id, section=section)
            continue
        try:
            wanted[(unit_id, section)] = parse_quota(raw)
        except ValueError as exc:
            problems[(unit_id, section)] = _("%(unit)s · %(section)s：%(reason)s",
                                             unit=unit.name, section=section, reason=str(exc))
    if problems:
        raise QuotaError(problems)

    existing = {
        (row.unit_id, row.section): row
        for row in db.session.scalars(select(RecommendationQuota).where(RecommendationQuota.round_id == round_.id))
    }
    changes = []
    for (unit_id, section), quota in wanted.items():
        row = existing.get((unit_id, section))
        old = row.quota if row is not None else 0
        if quota == old:
            continue  # unchanged cells (and zeros never set) write nothing, so the audit shows real edits only
        if row is None:
            row = RecommendationQuota(unit_id=unit_id, section=section, round_id=round_.id)
            db.session.add(row)
        row.quota, row.updated_by_id, row.updated_at = quota, actor.id, utcnow()
        changes.append(f"{units[unit_id].name}·{section}: {old}→{quota}")
    if not changes:
        return 0
    audit.record("sync_provincial.quotas_set", actor=actor, target=f"round:{round_.id}", detail="; ".join(changes))
    try:
        db.session.commit()
    except IntegrityError as exc:  # another admin created the same cell in the meantime
        db.session.rollback()
        raise ReslibError(_("名额刚被其他人修改过，请刷新页面后重新填写。"), code="conflict", status=409) from exc
    return len(changes)


def parse_quota(raw) -> int:
    if isinstance(raw, bool):
        raise ValueError(_("请填写整数"))
    if isinstance(raw, int):
        number = raw
    else:
        # Chinese input methods often type full-width digits (５); NFKC turns them into 5.
        text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
        if not text:
            return 0
        if not re.fullmatch(r"[+-]?\d+", text, re.ASCII):
            raise ValueError(_("“%(value)s”不是整数", value=str(raw).strip()[:20]))
        number = int(text)
    if number < 0:
        raise ValueError(_("名额不能是负数"))
    if number > MAX_QUOTA:
        raise ValueError(_("名额不能超过 %(max)s", max=MAX_QUOTA))
    return number
