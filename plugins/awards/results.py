"""Prizes from the judges' scores: per category, under its ratio and cap, with the tie rule; the admin's preview,
adjustments with a reason, and publication, which announces each prize (``award_granted``) and issues the
certificates.

The tie rule: entries are ranked by their mean score. Equal scores always get the same prize. A tie that
straddles the line between two prizes all get the higher one, and the lower prizes shrink so that the number of
winners stays what the cap allows. A tie that straddles the cap itself (taking all of it would exceed the cap)
gets no prize at all: the cap is never exceeded and ties are never split. So when every score is equal and
there are more entries than the cap allows, nobody wins and the preview says why; the admin may then adjust
by hand, each with a reason on the record.
"""
from dataclasses import dataclass, field
from itertools import groupby

from flask_babel import gettext as _
from sqlalchemy import select

from plugins.awards import certificates
from plugins.awards.entries import judged_entries
from plugins.awards.judging import mean_score
from plugins.awards.models import PRIZE_LABELS, Competition, Entry
from plugins.awards.service import PRIZES, allocate_prizes, require_district_admin
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import utcnow
from reslib.plugins import hooks
from reslib.services import audit

LEVELS = (*PRIZES, "none")


def rank(scores: list[tuple[int, float]], ratio: str, max_rate: int) -> dict[int, str | None]:
    """{entry id: prize or None} for ``(entry id, score)`` pairs of one category, by the tie rule above."""
    counts = allocate_prizes(len(scores), ratio, max_rate)
    bounds, total = [], 0
    for prize in PRIZES:  # the last place (exclusive) of each prize
        total += counts[prize]
        bounds.append(total)
    cap = total
    found, placed = {}, 0
    ordered = sorted(scores, key=lambda pair: -pair[1])
    for _tied_score, pairs in groupby(ordered, key=lambda pair: pair[1]):
        group = [entry_id for entry_id, _score in pairs]
        prize = None
        if placed + len(group) <= cap:
            prize = next(PRIZES[index] for index, bound in enumerate(bounds) if placed < bound)
        for entry_id in group:
            found[entry_id] = prize
        placed += len(group)
    return found


@dataclass
class CategoryResult:
    category: object
    rows: list = field(default_factory=list)  # (entry, score, computed prize, final prize)
    unscored: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    tied_out: int = 0  # entries left without a prize only because they tie at the cap


def preview(competition: Competition) -> list[CategoryResult]:
    """What publishing would give, category by category, with the admin's adjustments applied."""
    results = []
    entries = judged_entries(competition)
    for category in competition.categories:
        result = CategoryResult(category=category)
        scored = []
        for entry in entries:
            if entry.category_id != category.id:
                continue
            score = mean_score(entry)
            (result.unscored.append(entry) if score is None else scored.append((entry, score)))
        computed = rank([(entry.id, score) for entry, score in scored], category.prize_ratio, category.max_award_rate)
        result.counts = allocate_prizes(len(scored), category.prize_ratio, category.max_award_rate)
        winners = sum(1 for prize in computed.values() if prize)
        result.tied_out = sum(result.counts[prize] for prize in PRIZES) - winners
        for entry, score in sorted(scored, key=lambda pair: -pair[1]):
            final = computed[entry.id]
            if entry.prize_override:
                final = None if entry.prize_override == "none" else entry.prize_override
            result.rows.append((entry, score, computed[entry.id], final))
        results.append(result)
    return results


def adjust(actor, entry: Entry, level: str, reason: str) -> None:
    """The admin sets an entry's prize by hand before publishing ("" returns it to the computed one). Commits."""
    require_district_admin(actor)
    if entry.competition.status != "closed" or entry.competition.published_at is not None:
        raise ReslibError(_("只能在评审结束后、发布结果前调整奖项"), code="not_closed", status=409)
    if level not in (*LEVELS, ""):
        raise ReslibError(_("未知的奖项"), field="level")
    reason = (reason or "").strip()
    if level and not reason:
        raise ReslibError(_("调整奖项须填写理由"), field="reason")
    if len(reason) > 500:
        raise ReslibError(_("理由不能超过 500 个字"), field="reason")
    entry.prize_override, entry.override_reason = (level or None), (reason or None)
    audit.record("awards.prize_adjusted", actor=actor, target=entry,
                 detail=f"{entry.resource.title}：{_label(level) if level else _('按评分')} {reason}")
    db.session.commit()


def _label(level: str) -> str:
    return str(PRIZE_LABELS.get(level, _("不获奖")))


def publish(actor, competition: Competition) -> int:
    """Fix the prizes, issue the certificates, announce each prize; returns the number of prizes. Commits."""
    require_district_admin(actor)
    if competition.status != "closed":
        raise ReslibError(_("评审结束后才能发布结果"), code="not_closed", status=409)
    if competition.published_at is not None:
        raise ReslibError(_("结果已经发布"), code="published", status=409)
    now = utcnow()
    winners = []
    for result in preview(competition):
        for entry, score, _computed, final in result.rows:
            entry.score, entry.prize = score, final
            if final:
                winners.append(entry)
    competition.published_at = now
    issued = [certificates.issue_for_prize(entry, now) for entry in winners]
    audit.record("awards.published", actor=actor, target=competition,
                 detail=_("发布结果：%(n)s 件作品获奖", n=len(winners)))
    db.session.commit()
    for batch in issued:
        for certificate in batch:
            hooks().award_granted(award=certificates.announcement(certificate))
    return len(winners)


def published_list(competition: Competition) -> list[tuple]:
    """(category, [entries with a prize, best first]) of a published competition."""
    entries = db.session.scalars(select(Entry).where(Entry.competition_id == competition.id,
                                                     Entry.prize.is_not(None)))
    order = {prize: index for index, prize in enumerate(PRIZES)}
    by_category = {}
    for entry in sorted(entries, key=lambda entry: (order[entry.prize], -(entry.score or 0), entry.id)):
        by_category.setdefault(entry.category_id, []).append(entry)
    return [(category, by_category.get(category.id, [])) for category in competition.categories]
