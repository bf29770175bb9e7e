"""Review and grading (审核入库): submission, the school's decision, the district panel, publishing, queues.

Every step writes a ReviewDecision row (who, when, from which status to which, why) and an audit
event, commits, and only then tells plugins through resource_changed.
"""
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.messages import in_district_language
from reslib.models import Resource, ReviewAssignment, ReviewDecision, User, UserRole
from reslib.models.base import as_id, utcnow
from reslib.models.library import GRADES, STATUSES
from reslib.permissions import can, require
from reslib.plugins import hooks
from reslib.services import audit, library
from reslib.services.browse import Page
from reslib.templating import LOCAL_ZONE

# Each decision and the status it leads to.
SCHOOL_DECISIONS = {"approve": "school_approved", "approve_and_recommend": "district_review",
                    "return": "returned", "reject": "rejected"}
DISTRICT_DECISIONS = {"publish": "published", "return": "returned", "reject": "rejected"}
# What each step reports to plugins through resource_changed.
CHANGES = {
    "submit": "submitted", "approve": "school_approved", "approve_and_recommend": "sent_to_district",
    "recommend": "sent_to_district", "assign_panel": "panel_assigned", "publish": "published",
    "return": "returned", "reject": "rejected", "withdraw": "withdrawn", "supersede": "superseded",
}
# How far a version has reached; a new version replaces the old one once it reaches the old one's level.
LIBRARY_LEVEL = {"school_approved": 1, "published": 2}
COMMENT_MAX = 2000
FIELD_COMMENT_MAX = 500
REASON_MAX = 500  # Resource.status_reason


class ScoresInvalid(library.MetadataInvalid):
    """Several rubric criteria are wrong at once; ``errors`` maps each criterion to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.code = "invalid_scores"


def today() -> date:
    """The district's calendar day, whatever the server's clock zone."""
    return datetime.now(LOCAL_ZONE).date()


# --- the workflow ---------------------------------------------------------------------------

def submit(user, resource: Resource) -> None:
    """The owner sends a draft (or a returned resource) to their school for review."""
    require(user, "resource.edit", resource)
    if resource.processing in ("pending", "running"):
        raise ReslibError(_("文件还在处理中，处理完成后再提交"), code="conflict", status=409)
    if resource.processing == "failed":
        raise ReslibError(_("文件处理失败，请更换文件后再提交：%(error)s", error=resource.processing_failure or ""),
                          code="conflict", status=409)
    missing = library.missing_for_submission(resource)
    if missing:
        raise library.MetadataInvalid(missing)
    resource.submitted_at = utcnow()
    _done(user, _move(user, resource, "submit", "submitted"))


def school_decision(admin, resource: Resource, decision: str, comment: str = "", field_comments=None) -> None:
    """Approve into the school library, approve and send straight to district review, return, or reject."""
    require(admin, "resource.review_school", resource)
    if decision not in SCHOOL_DECISIONS:
        raise ReslibError(_("请选择审核结论"), field="decision")
    comment, notes = _reasons(decision, comment, field_comments)
    if decision == "approve":
        resource.published_at = utcnow()  # it is in the school library from now on
    _done(admin, _move(admin, resource, decision, SCHOOL_DECISIONS[decision], comment, notes))


def recommend(admin, resource: Resource) -> None:
    """Send a resource of the school library on to district review."""
    require(admin, "resource.recommend", resource)
    _done(admin, _move(admin, resource, "recommend", "district_review"))


def eligible_reviewers(resource: Resource) -> list[User]:
    """Active reviewers from other schools (or from the district office)."""
    stmt = (select(User).join(UserRole).where(UserRole.role == "reviewer", User.status == "active")
            .order_by(User.real_name, User.id))
    if resource.school_id is not None:
        stmt = stmt.where(or_(User.school_id.is_(None), User.school_id != resource.school_id))
    return list(db.session.scalars(stmt))


def assign_panel(admin, resource: Resource, reviewer_ids, due=None) -> None:
    """Add reviewers to the resource's district panel; the panel must reach REVIEW_PANEL_SIZE in all."""
    require(admin, "resource.assign_panel", resource)
    due = _due(due)
    wanted = _ids(reviewer_ids)
    assignments = _assignments(resource)
    assigned = {a.reviewer_id for a in assignments}
    added = []
    for reviewer_id in wanted:
        if reviewer_id in assigned:
            continue
        reviewer = db.session.get(User, reviewer_id)
        if reviewer is None:
            raise ReslibError(_("没有编号为 %(id)s 的账号", id=reviewer_id), field="reviewer_ids")
        _check_reviewer(reviewer, resource)
        added.append(reviewer)
    size = current_app.config["REVIEW_PANEL_SIZE"]
    if len(assigned) + len(added) < size:
        raise ReslibError(_("每个资源至少需要 %(n)s 位评审专家", n=size), field="reviewer_ids")
    for reviewer in added:
        db.session.add(ReviewAssignment(resource_id=resource.id, reviewer_id=reviewer.id,
                                        assigned_by_id=admin.id, due=due))
    for assignment in assignments:
        if assignment.scored_at is None:
            assignment.due = due
    resource.review_due = due
    with in_district_language():  # the review history's note, read by the teacher as much as the district
        names = _("、").join(r.real_name for r in added) or _("（无新增）")
        comment = _("评审专家：%(names)s；评分截止 %(due)s", names=names, due=due.isoformat())
    _done(admin, _move(admin, resource, "assign_panel", "district_review", comment))


def score(reviewer, resource: Resource, scores: dict, comment: str = "") -> ReviewAssignment:
    """A panel member scores every criterion of the rubric; they may revise until the district decides."""
    require(reviewer, "resource.score", resource)
    rubric = current_app.config["REVIEW_RUBRIC"]
    if not isinstance(scores, dict):
        raise ReslibError(_("评分格式不对"), field="scores")
    errors = {name: _("没有这一项评分标准") for name in scores if name not in rubric}
    values = {}
    for criterion, top in rubric.items():
        raw = scores.get(criterion)
        number = _number(raw)
        if raw is None or raw == "":
            errors[criterion] = _("请给“%(criterion)s”打分", criterion=criterion)
        elif number is None or not 0 <= number <= top:
            errors[criterion] = _("“%(criterion)s”应为 0 到 %(top)s 之间的数", criterion=criterion, top=top)
        else:
            values[criterion] = int(number) if number.is_integer() else number
    if errors:
        raise ScoresInvalid(errors)
    comment = _comment(comment)
    with library.holding(resource):  # no decision while a score is saved: the grade is made of every last score
        assignment = db.session.scalar(select(ReviewAssignment).where(
            ReviewAssignment.resource_id == resource.id, ReviewAssignment.reviewer_id == reviewer.id))
        assignment.scores_json = json.dumps(values, ensure_ascii=False)
        assignment.total = sum(values.values())
        assignment.comment = comment
        assignment.scored_at = utcnow()
        scored = "，".join(f"{criterion} {value:g}" for criterion, value in values.items())
        audit.record("review.score", actor=reviewer, target=resource,
                     detail=f"{assignment.total:g}（{scored}）{comment}")
    library.changed(resource, "scored", reviewer)
    return assignment


def decide(admin, resource: Resource, decision: str, comment: str = "", field_comments=None) -> None:
    """The district's decision after the panel: publish with the panel's grade, return, or reject."""
    require(admin, "resource.decide", resource)
    if decision not in DISTRICT_DECISIONS:
        raise ReslibError(_("请选择审核结论"), field="decision")
    comment, notes = _reasons(decision, comment, field_comments)
    with library.holding(resource):  # before reading the panel: no score changes under the decision
        if decision == "publish":
            _grade(resource)
        changes = _move(admin, resource, decision, DISTRICT_DECISIONS[decision], comment, notes)
    _done(admin, changes)


def _grade(resource: Resource) -> None:
    """Give the resource its panel's mean and grade, or refuse to publish it."""
    summary = panel_summary(resource)
    if len(summary.assignments) < summary.needed:
        raise ReslibError(_("至少需要 %(n)s 位评审专家评分后才能入库", n=summary.needed), code="conflict", status=409)
    if not summary.complete:
        raise ReslibError(_("还有评审专家没有评分（已评 %(done)s / %(all)s），不能入库",
                            done=summary.scored, all=len(summary.assignments)), code="conflict", status=409)
    if summary.grade == "fail":
        raise ReslibError(_("评审均分 %(mean)s 未达到合格线，不能入库", mean=f"{summary.mean:.1f}"),
                          code="conflict", status=409)
    resource.score, resource.grade = round(summary.mean, 1), summary.grade
    resource.published_at = utcnow()


def withdraw(user, resource: Resource, reason: str) -> None:
    """Take a resource out of its library, with the reason on the record."""
    require(user, "resource.withdraw", resource)
    reason = str(reason or "").strip()
    if not reason:
        raise ReslibError(_("请写明撤下的原因"), field="reason")
    if len(reason) > REASON_MAX:
        raise ReslibError(_("不能超过 %(n)s 个字", n=REASON_MAX), field="reason")
    _done(user, _move(user, resource, "withdraw", "withdrawn", reason))


def _move(actor, resource: Resource, action: str, to_status: str, comment: str = "",
          field_comments: dict | None = None) -> list[tuple[Resource, str]]:
    """Record one step and change the status, if no one changed it first (see library.hold); returns what
    to tell plugins after the commit."""
    library.hold(resource)
    db.session.add(ReviewDecision(
        resource_id=resource.id, actor_id=actor.id, action=action, from_status=resource.status,
        to_status=to_status, comment=comment,
        field_comments_json=json.dumps(field_comments, ensure_ascii=False) if field_comments else None,
    ))
    with in_district_language():
        detail = " ".join(filter(None, [f"{STATUSES[resource.status]}→{STATUSES[to_status]}", comment,
                                        json.dumps(field_comments, ensure_ascii=False) if field_comments else ""]))
        audit.record(f"review.{action}", actor=actor, target=resource, detail=detail)
    if action in ("return", "reject", "withdraw"):
        resource.status_reason = (comment or "；".join(field_comments.values()))[:REASON_MAX]
    elif to_status != resource.status:
        resource.status_reason = None
    resource.status = to_status
    changes = [(resource, CHANGES[action])]
    old = db.session.get(Resource, resource.supersedes_id) if resource.supersedes_id else None
    if old is not None and old.status in LIBRARY_LEVEL and LIBRARY_LEVEL.get(to_status, 0) >= LIBRARY_LEVEL[old.status]:
        changes += _move(actor, old, "supersede", "superseded",
                         _("由新版本（编号 %(id)s）取代", id=resource.id))
    return changes


def _done(actor, changes: list[tuple[Resource, str]]) -> None:
    db.session.commit()
    for resource, change in changes:
        library.changed(resource, change, actor)


def _comment(comment) -> str:
    comment = str(comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ReslibError(_("不能超过 %(n)s 个字", n=COMMENT_MAX), field="comment")
    return comment


def _reasons(decision: str, comment, field_comments) -> tuple[str, dict]:
    """A return needs a comment or a field comment, a rejection a reason; field comments belong to returns."""
    comment = _comment(comment)
    notes = _field_comments(field_comments) if decision == "return" else {}
    if decision == "return" and not comment and not notes:
        raise ReslibError(_("退回修改请写明意见，或至少对一项信息提出修改意见"), field="comment")
    if decision == "reject" and not comment:
        raise ReslibError(_("不通过请写明原因"), field="comment")
    return comment, notes


def _field_comments(raw) -> dict[str, str]:
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise ReslibError(_("逐项意见格式不对"), field="field_comments")
    notes = {}
    for name, text in raw.items():
        if name not in library.METADATA_FIELDS:
            raise ReslibError(_("没有这一项信息：%(name)s", name=name), field="field_comments")
        text = str(text or "").strip()
        if len(text) > FIELD_COMMENT_MAX:
            raise ReslibError(_("不能超过 %(n)s 个字", n=FIELD_COMMENT_MAX), field="field_comments")
        if text:
            notes[name] = text
    return notes


def _due(value) -> date:
    if value in (None, ""):
        return today() + timedelta(days=current_app.config["REVIEW_DAYS"])
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value.strip())
        except ValueError:
            value = None
    if not isinstance(value, date):
        raise ReslibError(_("截止日期应为 yyyy-mm-dd，例如 2026-03-23"), field="due")
    if value < today():
        raise ReslibError(_("截止日期不能早于今天"), field="due")
    return value


def _ids(values) -> list[int]:
    """Distinct account ids, in the order given."""
    if isinstance(values, (str, int)):
        values = [values]
    ids = []
    for value in values or ():
        reviewer_id = as_id(value)
        if reviewer_id is None:
            raise ReslibError(_("评审专家选择有误"), field="reviewer_ids")
        if reviewer_id not in ids:
            ids.append(reviewer_id)
    if not ids:
        raise ReslibError(_("请选择评审专家"), field="reviewer_ids")
    return ids


def _check_reviewer(reviewer: User, resource: Resource) -> None:
    if not reviewer.has_role("reviewer"):
        raise ReslibError(_("%(name)s 不是评审专家", name=reviewer.real_name), field="reviewer_ids")
    if not reviewer.is_active:
        raise ReslibError(_("%(name)s 的账号不可用", name=reviewer.real_name), field="reviewer_ids")
    if resource.school_id is not None and reviewer.school_id == resource.school_id:
        raise ReslibError(_("评审专家不能评审本校的资源（%(name)s）", name=reviewer.real_name), field="reviewer_ids")


def _number(raw) -> float | None:
    if isinstance(raw, bool):
        return None
    try:
        number = float(raw.strip() if isinstance(raw, str) else raw)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


# --- the panel ------------------------------------------------------------------------------

@dataclass
class PanelSummary:
    assignments: list[ReviewAssignment]
    needed: int  # REVIEW_PANEL_SIZE
    scored: int
    mean: float | None  # of the scored totals
    grade: str | None  # a key of models.library.GRADES, from the mean
    spread: float | None  # highest total minus lowest
    disagreement: bool  # spread above REVIEW_DISAGREEMENT_POINTS

    @property
    def complete(self) -> bool:
        """Every assigned reviewer has scored, and there are enough of them."""
        return len(self.assignments) >= self.needed and self.scored == len(self.assignments)

    @property
    def grade_label(self) -> str:
        return str(GRADES[self.grade]) if self.grade else ""


def grade_for(mean: float) -> str:
    thresholds = current_app.config["REVIEW_GRADE_THRESHOLDS"]
    for grade in ("excellent", "good", "pass"):
        if mean >= thresholds[grade]:
            return grade
    return "fail"


def panel_summary(resource: Resource, assignments: list[ReviewAssignment] | None = None) -> PanelSummary:
    """The panel of ``resource`` and its scores; ``assignments`` when they are already loaded."""
    assignments = _assignments(resource) if assignments is None else assignments
    totals = [a.total for a in assignments if a.scored_at is not None]
    mean = sum(totals) / len(totals) if totals else None
    spread = max(totals) - min(totals) if totals else None
    return PanelSummary(
        assignments=assignments, needed=current_app.config["REVIEW_PANEL_SIZE"], scored=len(totals), mean=mean,
        grade=grade_for(mean) if mean is not None else None, spread=spread,
        disagreement=spread is not None and spread > current_app.config["REVIEW_DISAGREEMENT_POINTS"],
    )


def _assignments(resource: Resource) -> list[ReviewAssignment]:
    return list(db.session.scalars(select(ReviewAssignment).where(ReviewAssignment.resource_id == resource.id)
                                   .order_by(ReviewAssignment.id)))


# --- the record -----------------------------------------------------------------------------

def history(resource: Resource) -> list[ReviewDecision]:
    """Every step of every version of this resource, newest first."""
    versions = select(Resource.id).where(Resource.lineage_id == resource.lineage_id)
    return list(db.session.scalars(select(ReviewDecision).where(ReviewDecision.resource_id.in_(versions))
                                   .order_by(ReviewDecision.at.desc(), ReviewDecision.id.desc())))


def latest_return(resource: Resource) -> ReviewDecision | None:
    """The last time this resource was returned: its comment and field comments, for the owner's edit page."""
    return db.session.scalar(select(ReviewDecision).where(
        ReviewDecision.resource_id == resource.id, ReviewDecision.action == "return",
    ).order_by(ReviewDecision.id.desc()).limit(1))


def sent_back_to(owner, limit: int) -> list[tuple[Resource, ReviewDecision | None]]:
    """The owner's resources returned for revision, newest change first, each with the return it waits on."""
    resources = db.session.scalars(library.my_resources(owner, "returned").limit(limit))
    return [(resource, latest_return(resource)) for resource in resources]


def checks_for(resource: Resource, viewer) -> list[dict]:
    """Every finding of every plugin's review_checks (the core's own included), flattened, as ``viewer`` may read them."""
    return [finding for findings in hooks().review_checks(resource=resource, viewer=viewer) for finding in findings or []]


# --- queues ---------------------------------------------------------------------------------

# Each queue's stages, in the order they are listed; the actionable ones make the badge count.
QUEUE_STAGES = {
    "school": ("submitted", "school_approved"),
    "district": ("needs_panel", "ready", "scoring"),
    "reviewer": ("unscored", "scored"),
}
STAGES = tuple(stage for stages in QUEUE_STAGES.values() for stage in stages)
ACTIONABLE = ("submitted", "needs_panel", "ready", "unscored")
# What a queue's page shows of each resource, loaded with the resources instead of one query each.
_SHOWN = (selectinload(Resource.owner), selectinload(Resource.school), selectinload(Resource.subject),
          selectinload(Resource.stage))


@dataclass
class QueueItem:
    resource: Resource
    stage: str  # one of STAGES
    due: date | None = None
    overdue: bool = False
    assignment: ReviewAssignment | None = None  # the reviewer's own, in their queue
    panel: PanelSummary | None = None  # in the district queue


def _filtered(stmt, school_id=None, subject_id=None):
    if school_id:
        stmt = stmt.where(Resource.school_id == school_id)
    if subject_id:
        stmt = stmt.where(Resource.subject_id == subject_id)
    return stmt


def _showing(stmt, per_page: int):
    """``stmt`` loading what a queue's page shows of each resource, unless nothing is listed (only counted)."""
    return stmt.options(*_SHOWN) if per_page else stmt


def _past(due: date | None) -> bool:
    return due is not None and due < today()


def _paged(items: list[QueueItem], page: int, per_page: int) -> Page:
    start = (page - 1) * per_page
    return Page(items[start:start + per_page], len(items), page, per_page)


def _listed(items: list[QueueItem], stages, page: int, per_page: int) -> dict[str, Page]:
    """A page of ``items`` for every one of ``stages``, overdue first, then by due date (none last)."""
    ordered = sorted(items, key=lambda i: (not i.overdue, i.due is None, i.due or date.min))
    return {stage: _paged([item for item in ordered if item.stage == stage], page, per_page) for stage in stages}


def _school_queue(admin, stages, page, per_page, *, school_id=None, subject_id=None) -> dict[str, Page]:
    """Submitted resources waiting for the school's decision (oldest first), and the school library resources that
    could still be recommended to the district. The school library only grows: its stage is counted and paged in
    the database, and the policy asked about the page shown."""
    if not admin.has_role("district_admin"):
        if not admin.has_role("school_admin") or admin.school_id is None:
            return {}
        school_id = admin.school_id
    submitted, approved = (_filtered(select(Resource).where(Resource.status == status), school_id, subject_id)
                           for status in ("submitted", "school_approved"))
    oldest_first = (Resource.submitted_at, Resource.id)
    found = {}
    if "submitted" in stages:
        waiting = db.session.scalars(_showing(submitted, per_page).order_by(*oldest_first))
        found["submitted"] = _paged([QueueItem(resource, "submitted") for resource in waiting
                                     if can(admin, "resource.review_school", resource)], page, per_page)
    if "school_approved" in stages:
        total = db.session.scalar(select(func.count()).select_from(approved.subquery()))
        shown = db.session.scalars(_showing(approved, per_page).order_by(*oldest_first)
                                   .offset((page - 1) * per_page).limit(per_page)) if per_page else []
        found["school_approved"] = Page([QueueItem(resource, "school_approved") for resource in shown
                                         if can(admin, "resource.recommend", resource)], total, page, per_page)
    return found


def _reviewer_queue(reviewer, stages, page, per_page, *, school_id=None, subject_id=None) -> dict[str, Page]:
    """The reviewer's assignments still in district review: unscored first, soonest due first."""
    stmt = _filtered(select(ReviewAssignment, Resource).join(Resource, ReviewAssignment.resource_id == Resource.id)
                     .where(ReviewAssignment.reviewer_id == reviewer.id, Resource.status == "district_review"),
                     school_id, subject_id)
    items = []
    for assignment, resource in db.session.execute(_showing(stmt, per_page)):
        if not can(reviewer, "resource.score", resource):
            continue
        scored = assignment.scored_at is not None
        items.append(QueueItem(resource, "scored" if scored else "unscored", due=assignment.due,
                               overdue=not scored and _past(assignment.due), assignment=assignment))
    return _listed(items, stages, page, per_page)


def _district_queue(admin, stages, page, per_page, *, school_id=None, subject_id=None) -> dict[str, Page]:
    """Resources in district review: needing a panel, ready to decide, or being scored."""
    stmt = _filtered(select(Resource).where(Resource.status == "district_review"), school_id, subject_id)
    resources = [resource for resource in db.session.scalars(_showing(stmt, per_page).order_by(Resource.id))
                 if can(admin, "resource.decide", resource)]
    panels = {resource.id: [] for resource in resources}
    for assignment in db.session.scalars(select(ReviewAssignment).where(ReviewAssignment.resource_id.in_(panels))
                                         .order_by(ReviewAssignment.id)):
        panels[assignment.resource_id].append(assignment)
    items = []
    for resource in resources:
        panel = panel_summary(resource, panels[resource.id])
        if len(panel.assignments) < panel.needed:
            current = "needs_panel"
        else:
            current = "ready" if panel.complete else "scoring"
        items.append(QueueItem(resource, current, due=resource.review_due,
                               overdue=current == "scoring" and _past(resource.review_due), panel=panel))
    return _listed(items, stages, page, per_page)


# Who works on each queue, and what lists it; a district admin's own work, the district queue, comes first.
_QUEUES = {
    "district": (("district_admin",), _district_queue),
    "school": (("school_admin", "district_admin"), _school_queue),
    "reviewer": (("reviewer",), _reviewer_queue),
}


def queues_for(user, *, stage=None, page=1, per_page=None, school_id=None, subject_id=None) -> dict[str, dict[str, Page]]:
    """The queues ``user`` works on, keyed as in QUEUE_STAGES, each with a Page of items per stage (only ``stage``
    and its queue if given): page ``page`` of PAGE_SIZE items, or of ``per_page`` (0 counts them without listing any)."""
    per_page = current_app.config["PAGE_SIZE"] if per_page is None else per_page
    queues = {}
    for name, (roles, listed) in _QUEUES.items():
        stages = [s for s in QUEUE_STAGES[name] if stage in (None, s)]
        if stages and user.has_role(*roles):
            queues[name] = listed(user, stages, page, per_page, school_id=school_id, subject_id=subject_id)
    return queues


def queue_counts(user) -> dict[str, int]:
    """How many items wait at each stage, and "todo": those needing this user's action (a dashboard badge)."""
    if not can(user, "review.queue"):
        return {}
    counts = dict.fromkeys(STAGES, 0)
    for pages in queues_for(user, per_page=0).values():
        for stage, listed in pages.items():
            counts[stage] = listed.total
    counts["todo"] = sum(counts[stage] for stage in ACTIONABLE)
    return counts
