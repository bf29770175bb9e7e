"""Recommendation rounds upward (资源推荐): the district opens a round for a platform, schools propose their published
resources, the district selects within each unit's quota per section after checking every candidate against the
national standards, and records what the platform decided. Acceptance is announced through the
``recommendation_accepted`` hook (the awards plugin issues the certificate the notices promise)."""
import json
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from plugins.sync_provincial.models import Recommendation, RecommendationQuota, RecommendationRound
from plugins.sync_provincial.service import check_year, parse_quota
from reslib import national as taxonomy
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Resource, utcnow
from reslib.permissions import can
from reslib.plugins import hooks
from reslib.services import audit, library, review
from reslib.templating import local_today

STATUS_LABELS = {"proposed": _l("学校已推荐"), "selected": _l("区级已选定"), "submitted": _l("已报送平台"),
                 "accepted": _l("平台已采纳"), "rejected": _l("平台未采纳"), "online": _l("已上线")}
# What counts against a unit's quota: everything the district chose, whatever the platform then decided.
CHOSEN = ("selected", "submitted", "accepted", "rejected", "online")
# The platform's answers the district admin may record, from the status each may follow.
RECORDED_AFTER = {"submitted": ("selected",), "accepted": ("submitted",), "rejected": ("submitted", "accepted"),
                  "online": ("submitted", "accepted")}
# Seed 000's 数字资源征集工作联系表: the form's fields, in its order.
CONTACT_FIELDS = {
    "unit": _l("填报单位"), "department": _l("负责部门名称"), "address": _l("通讯地址"),
    "admin_head": _l("行政部门负责人"), "admin_contact": _l("行政部门联系人"),
    "organiser_head": _l("具体组织部门负责人"), "organiser_contact": _l("具体组织部门联系人"),
    "organiser_contact_2": _l("具体组织部门联系人（二）"),
}
CONTACT_PERSON_PARTS = {"name": _l("姓名"), "unit": _l("所在单位"), "title": _l("职务"), "office_phone": _l("办公电话"),
                        "fax": _l("传真"), "mobile": _l("手机")}
CONTACT_PEOPLE = ("admin_head", "admin_contact", "organiser_head", "organiser_contact", "organiser_contact_2")
TEXT_LIMITS = {"title": 200, "platform": 100, "note": 200, "reason": 500, "contact": 100}


def require_district(actor) -> None:
    if not can(actor, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以管理资源推荐。"), code="forbidden", status=403)


def may_propose_for(actor, resource: Resource) -> bool:
    """The district admin, or an admin of the school whose resource it is."""
    return can(actor, "district.manage") or (actor.has_role("school_admin") and resource.school_id is not None
                                             and actor.school_id == resource.school_id)


# --- rounds -----------------------------------------------------------------------------------

def all_rounds() -> list[RecommendationRound]:
    return list(db.session.scalars(select(RecommendationRound).order_by(RecommendationRound.deadline.desc(),
                                                                         RecommendationRound.id.desc())))


def get_round(round_id: int) -> RecommendationRound:
    found = db.session.get(RecommendationRound, round_id)
    if found is None:
        raise ReslibError(_("没有这个推荐活动。"), code="not_found", status=404)
    return found


def save_round(actor, round_: RecommendationRound | None, data: dict) -> RecommendationRound:
    """Create (``round_`` None) or change a round from form values; every field is checked before anything is
    written, and the errors come back per field."""
    require_district(actor)
    errors, values = {}, {}
    for field in ("title", "platform"):
        text = " ".join(str(data.get(field) or "").split())
        if not text:
            errors[field] = _("请填写此项")
        elif len(text) > TEXT_LIMITS[field]:
            errors[field] = _("不能超过 %(n)s 个字", n=TEXT_LIMITS[field])
        values[field] = text
    try:
        values["year"] = check_year(_whole_number(data.get("year")))
    except ReslibError as exc:
        errors["year"] = exc.message
    sections = [name for name in taxonomy.sections() if name in (data.get("sections") or ())]
    if not sections:
        errors["sections"] = _("请至少选择一个版块")
    values["sections"] = "、".join(sections)
    try:
        values["min_per_section"] = parse_quota(data.get("min_per_section"))
    except ValueError as exc:
        errors["min_per_section"] = str(exc)
    values["deadline"] = _day(data.get("deadline"))
    if values["deadline"] is None:
        errors["deadline"] = _("请填写截止日期，如 2026-07-04")
    url = (data.get("submit_url") or "").strip()
    if url:
        try:
            url = library.check_link(url)
        except ReslibError as exc:
            errors["submit_url"] = exc.message
    values["submit_url"] = url or None
    contact = {}
    for key, raw in (data.get("contact") or {}).items():
        if key in CONTACT_FIELDS or key.split(".")[0] in CONTACT_PEOPLE:
            text = " ".join(str(raw or "").split())
            if len(text) > TEXT_LIMITS["contact"]:
                errors[f"contact.{key}"] = _("不能超过 %(n)s 个字", n=TEXT_LIMITS["contact"])
            elif text:
                contact[key] = text
    values["contact"] = json.dumps(contact, ensure_ascii=False, sort_keys=True)
    if errors:
        raise library.MetadataInvalid(errors)
    created = round_ is None
    if created:
        round_ = RecommendationRound(created_by_id=actor.id, status="open")
        db.session.add(round_)
    for field, value in values.items():
        setattr(round_, field, value)
    db.session.flush()
    audit.record("sync_provincial.round_saved", actor=actor, target=f"round:{round_.id}",
                 detail=_l("新建推荐活动：%(title)s", title=round_.title) if created
                 else _l("修改推荐活动：%(title)s", title=round_.title))
    db.session.commit()
    return round_


def _whole_number(raw):
    """Digits typed in any width (５ from a Chinese input method) as a number; anything else as it came."""
    text = unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()
    return int(text) if re.fullmatch(r"\d{1,6}", text, re.ASCII) else raw


def _day(raw) -> date | None:
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw or "").strip())
    except ValueError:
        return None


def contact_of(round_: RecommendationRound) -> dict[str, str]:
    return json.loads(round_.contact or "{}")


def set_round_status(actor, round_: RecommendationRound, status: str) -> None:
    """Open (schools may propose) or close (no more proposals; the district still selects and records)."""
    require_district(actor)
    if status not in ("open", "closed"):
        raise ReslibError(_("未知的状态"), field="status")
    round_.status = status
    audit.record("sync_provincial.round_status", actor=actor, target=f"round:{round_.id}", detail=status)
    db.session.commit()


def accepting_proposals(round_: RecommendationRound) -> bool:
    return round_.status == "open" and local_today() <= round_.deadline


# --- proposals and selection -----------------------------------------------------------------------

def recommendations(round_: RecommendationRound, *, unit_id: int | None = None, school_id: int | None = None) -> list[Recommendation]:
    stmt = select(Recommendation).where(Recommendation.round_id == round_.id)
    if unit_id is not None:
        stmt = stmt.where(Recommendation.unit_id == unit_id)
    if school_id is not None:
        stmt = stmt.join(Resource, Resource.id == Recommendation.resource_id).where(Resource.school_id == school_id)
    return list(db.session.scalars(stmt.order_by(Recommendation.section, Recommendation.id)))


def get_recommendation(recommendation_id: int) -> Recommendation:
    found = db.session.get(Recommendation, recommendation_id)
    if found is None:
        raise ReslibError(_("没有这条推荐。"), code="not_found", status=404)
    return found


def proposable(round_: RecommendationRound, school_id: int) -> list[Resource]:
    """The school's published resources not yet in the round, newest first, for the proposal form."""
    taken = select(Recommendation.resource_id).where(Recommendation.round_id == round_.id)
    return list(db.session.scalars(
        select(Resource).where(Resource.school_id == school_id, Resource.status == "published",
                               Resource.id.not_in(taken)).order_by(Resource.published_at.desc()).limit(500)))


def propose(actor, round_: RecommendationRound, resource: Resource, section: str, column: str,
            note: str = "") -> Recommendation:
    """A school (or the district) puts one of its published resources forward for a section and column."""
    if not may_propose_for(actor, resource):
        raise ReslibError(_("只有本校管理员或区教育局管理员可以推荐本校的资源。"), code="forbidden", status=403)
    if not accepting_proposals(round_):
        raise ReslibError(_("此推荐活动已截止，不能再推荐。"), code="round_closed", status=409)
    if resource.status != "published":
        raise ReslibError(_("只有已入区级库的资源可以推荐。"), code="not_published", status=409)
    if resource.school_id is None:
        raise ReslibError(_("这条资源不属于任何学校，无法计入单位名额。"), field="resource_id")
    if section not in round_.section_list():
        raise ReslibError(_("此推荐活动不征集“%(section)s”版块。", section=section), field="section")
    if not taxonomy.is_valid(section, column):
        raise ReslibError(_("“%(column)s”不是“%(section)s”版块的栏目。", column=column, section=section),
                          field="column")
    note = " ".join((note or "").split())
    if len(note) > TEXT_LIMITS["note"]:
        raise ReslibError(_("备注不能超过 %(n)s 个字", n=TEXT_LIMITS["note"]), field="note")
    recommendation = Recommendation(round_id=round_.id, resource_id=resource.id, unit_id=resource.school.unit_id,
                                    section=section, column=column, note=note, status="proposed",
                                    delivery_key=str(uuid.uuid4()), proposed_by_id=actor.id)
    db.session.add(recommendation)
    audit.record("sync_provincial.proposed", actor=actor, target=f"resource:{resource.id}",
                 school_id=resource.school_id, detail=f"{round_.title} · {section} · {column}")
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ReslibError(_("这条资源已在此推荐活动中。"), code="conflict", status=409) from exc
    return recommendation


def withdraw(actor, recommendation: Recommendation) -> None:
    """The proposer's school takes a proposal back before the district selected it."""
    if not may_propose_for(actor, recommendation.resource):
        raise ReslibError(_("只有本校管理员或区教育局管理员可以撤回推荐。"), code="forbidden", status=403)
    if recommendation.status != "proposed":
        raise ReslibError(_("区级已选定的推荐不能撤回。"), code="conflict", status=409)
    audit.record("sync_provincial.withdrawn", actor=actor, target=f"resource:{recommendation.resource_id}",
                 school_id=recommendation.resource.school_id, detail=recommendation.round.title)
    db.session.delete(recommendation)
    db.session.commit()


def fix_list(recommendation: Recommendation, viewer) -> list[str]:
    """What the candidate must fix before it may be selected: every failing clause of the national metadata and
    technical standards (the core's review checks), and the resource having left the library."""
    problems = [finding["message"] for finding in review.checks_for(recommendation.resource, viewer)
                if not finding["ok"]]
    if recommendation.resource.status != "published":
        problems.insert(0, _("资源已不在区级库中"))
    return problems


def select_candidate(actor, recommendation: Recommendation) -> None:
    """The district selects a proposal, within its unit's quota for the section and only if it meets the standards."""
    require_district(actor)
    if recommendation.status != "proposed":
        raise ReslibError(_("只有学校已推荐、尚未选定的资源可以选定。"), code="conflict", status=409)
    problems = fix_list(recommendation, actor)
    if problems:
        raise ReslibError(_("不符合国家平台标准，请先修改：%(problems)s", problems="；".join(problems)),
                          code="standards_not_met", status=409)
    left = quota_left(recommendation.round, recommendation.unit_id, recommendation.section)
    if left <= 0:
        raise ReslibError(_("%(unit)s 的“%(section)s”版块名额已用完。", unit=recommendation.unit.name,
                            section=recommendation.section), code="over_quota", status=409)
    _move(actor, recommendation, "selected")


def deselect(actor, recommendation: Recommendation) -> None:
    require_district(actor)
    if recommendation.status != "selected":
        raise ReslibError(_("只有已选定、尚未报送的资源可以取消选定。"), code="conflict", status=409)
    _move(actor, recommendation, "proposed")


def record_answer(actor, recommendation: Recommendation, status: str, *, reason: str = "", url: str = "") -> None:
    """The platform's answer, entered by the district admin (or taken from the connector's reply)."""
    require_district(actor)
    if recommendation.status not in RECORDED_AFTER.get(status, ()):
        raise ReslibError(_("不能从“%(old)s”改为“%(new)s”。", old=STATUS_LABELS[recommendation.status],
                            new=STATUS_LABELS.get(status, status)), code="conflict", status=409)
    reason = " ".join((reason or "").split())
    if status == "rejected" and not reason:
        raise ReslibError(_("请填写未采纳的原因"), field="reason")
    if len(reason) > TEXT_LIMITS["reason"]:
        raise ReslibError(_("原因不能超过 %(n)s 个字", n=TEXT_LIMITS["reason"]), field="reason")
    if status == "online":
        if not (url or "").strip():
            raise ReslibError(_("请填写上线地址"), field="online_url")
        recommendation.online_url = library.check_link(url)
    recommendation.reason = reason if status == "rejected" else recommendation.reason
    _move(actor, recommendation, status)


def _move(actor, recommendation: Recommendation, status: str) -> None:
    before = recommendation.status
    recommendation.status, recommendation.updated_at = status, utcnow()
    audit.record("sync_provincial.recommendation_status", actor=actor,
                 target=f"resource:{recommendation.resource_id}", school_id=recommendation.resource.school_id,
                 detail=f"{recommendation.round.title}: {before}→{status}")
    db.session.commit()
    if status == "accepted" or (status == "online" and before == "submitted"):
        announce_acceptance(recommendation)


def announce_acceptance(recommendation: Recommendation) -> None:
    """Tell plugins a platform accepted the resource; the key makes a repeated announcement harmless."""
    hooks().recommendation_accepted(selection={
        "key": f"provincial:rec:{recommendation.id}", "title": recommendation.resource.title,
        "platform": recommendation.round.platform, "people": [recommendation.resource.owner_id],
        "at": recommendation.updated_at})


# --- quotas left -----------------------------------------------------------------------------------

def chosen_counts(round_: RecommendationRound) -> dict[tuple[int, str], int]:
    """(unit id, section) → how many the district chose there."""
    rows = db.session.execute(
        select(Recommendation.unit_id, Recommendation.section, func.count())
        .where(Recommendation.round_id == round_.id, Recommendation.status.in_(CHOSEN))
        .group_by(Recommendation.unit_id, Recommendation.section))
    return {(unit_id, section): count for unit_id, section, count in rows}


def quota_left(round_: RecommendationRound, unit_id: int, section: str) -> int:
    quota = db.session.scalar(select(RecommendationQuota.quota).where(
        RecommendationQuota.round_id == round_.id, RecommendationQuota.unit_id == unit_id,
        RecommendationQuota.section == section)) or 0
    return quota - chosen_counts(round_).get((unit_id, section), 0)


@dataclass
class SectionProgress:
    section: str
    chosen: int
    minimum: int

    @property
    def short(self) -> int:
        return max(self.minimum - self.chosen, 0)


def section_progress(round_: RecommendationRound) -> list[SectionProgress]:
    """Per section, how many the district chose against the platform's floor (e.g. 每个方面至少推荐10条)."""
    counts = chosen_counts(round_)
    return [SectionProgress(section, sum(n for (_unit, name), n in counts.items() if name == section),
                            round_.min_per_section) for section in round_.section_list()]


def of_resource(resource: Resource) -> list[Recommendation]:
    """Every round this resource (any version of it) was recommended in, for its page."""
    return list(db.session.scalars(
        select(Recommendation).join(Resource, Resource.id == Recommendation.resource_id)
        .where(Resource.lineage_id == resource.lineage_id).order_by(Recommendation.id)))
