"""The panel's work: balanced assignment without conflicts of interest, blind scoring against the rubric, a
further judge where two disagree, scores locked when judging closes and corrected after only with a reason."""
import json
from collections import Counter

from flask_babel import gettext as _
from sqlalchemy import delete, select

from plugins.awards.entries import judged_entries
from plugins.awards.models import Assignment, Competition, Entry, Judge
from plugins.awards.service import require_district_admin
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import User, utcnow
from reslib.services import audit
from reslib.services.accounts import user_by_username


# --- the panel -------------------------------------------------------------------------------------

def panel(competition: Competition) -> list[User]:
    return list(db.session.scalars(select(User).join(Judge, Judge.user_id == User.id)
                                   .where(Judge.competition_id == competition.id).order_by(User.id)))


def add_judge(actor, competition: Competition, username: str) -> User:
    require_district_admin(actor)
    if competition.status == "closed":
        raise ReslibError(_("评比已结束，评审专家不能再改"), code="closed", status=409)
    person = user_by_username(username)
    if person is None or not person.is_active:
        raise ReslibError(_("没有启用的账号“%(name)s”", name=(username or "").strip()), field="username")
    if not (person.has_role("teacher") or person.has_role("reviewer")):
        raise ReslibError(_("评审专家须是教师或审核专家账号"), field="username")
    if db.session.get(Judge, (competition.id, person.id)) is None:
        db.session.add(Judge(competition_id=competition.id, user_id=person.id))
        audit.record("awards.panel", actor=actor, target=competition, detail=f"+ {person.username}")
        db.session.commit()
    return person


def remove_judge(actor, competition: Competition, user_id: int) -> None:
    """Off the panel; their unsubmitted assignments go, their submitted scores stay on the record."""
    require_district_admin(actor)
    judge = db.session.get(Judge, (competition.id, user_id))
    if judge is None:
        raise ReslibError(_("这位不是本次评比的评审专家"), code="not_found", status=404)
    entry_ids = select(Entry.id).where(Entry.competition_id == competition.id)
    db.session.execute(delete(Assignment).where(Assignment.judge_id == user_id, Assignment.entry_id.in_(entry_ids),
                                                Assignment.submitted_at.is_(None)))
    db.session.delete(judge)
    audit.record("awards.panel", actor=actor, target=competition, detail=f"- {judge.user.username}")
    db.session.commit()


# --- assignment ------------------------------------------------------------------------------------

def conflict(judge: User, entry: Entry) -> str | None:
    """Why ``judge`` may not score ``entry``, or None: never their own school's, never their own work."""
    if judge.id in entry.author_ids or judge.id == entry.submitted_by_id:
        return _("评审专家不能评自己（合作）的作品")
    if judge.school_id is not None and judge.school_id == entry.school_id:
        return _("评审专家不能评本校的作品")
    return None


def _load(competition: Competition) -> Counter:
    return Counter(db.session.scalars(select(Assignment.judge_id).join(Entry)
                                      .where(Entry.competition_id == competition.id)))


def _pick(entry: Entry, judges: list[User], load: Counter) -> User | None:
    """The least busy judge free of conflict and not yet on the entry (ties: the lower account id)."""
    taken = {assignment.judge_id for assignment in entry.assignments}
    free = [judge for judge in judges if judge.id not in taken and conflict(judge, entry) is None]
    return min(free, key=lambda judge: (load[judge.id], judge.id), default=None)


def assign_automatically(actor, competition: Competition) -> list[Entry]:
    """Bring every judged entry up to ``judges_per_entry`` judges, balancing the load. Returns the entries that
    could not get enough judges free of conflict (the admin adds judges to the panel). Commits."""
    require_district_admin(actor)
    if competition.status != "judging":
        raise ReslibError(_("进入评审阶段后才能分配评审"), code="not_judging", status=409)
    judges, load, short = panel(competition), _load(competition), []
    for entry in judged_entries(competition):
        while len(entry.assignments) < competition.judges_per_entry:
            judge = _pick(entry, judges, load)
            if judge is None:
                short.append(entry)
                break
            entry.assignments.append(Assignment(judge_id=judge.id))
            load[judge.id] += 1
    audit.record("awards.assigned", actor=actor, target=competition,
                 detail=_("自动分配评审，%(n)s 件作品评审专家不足", n=len(short)))
    db.session.commit()
    return short


def assign(actor, entry: Entry, username: str) -> Assignment:
    """The admin's manual choice of a judge for an entry; conflicts are refused all the same. Commits."""
    require_district_admin(actor)
    if entry.competition.status != "judging":
        raise ReslibError(_("进入评审阶段后才能分配评审"), code="not_judging", status=409)
    judge = user_by_username(username)
    if judge is None or db.session.get(Judge, (entry.competition_id, judge.id)) is None:
        raise ReslibError(_("“%(name)s”不是本次评比的评审专家", name=(username or "").strip()), field="username")
    problem = conflict(judge, entry)
    if problem:
        raise ReslibError(problem, field="username")
    if any(assignment.judge_id == judge.id for assignment in entry.assignments):
        raise ReslibError(_("这位评审专家已经在评这件作品"), field="username")
    assignment = Assignment(judge_id=judge.id)
    entry.assignments.append(assignment)
    audit.record("awards.assigned", actor=actor, target=entry, detail=f"+ {judge.username}")
    db.session.commit()
    return assignment


def unassign(actor, assignment: Assignment) -> None:
    require_district_admin(actor)
    if assignment.submitted_at is not None:
        raise ReslibError(_("已评分的评审不能撤下"), code="scored", status=409)
    audit.record("awards.assigned", actor=actor, target=assignment.entry, detail=f"- {assignment.judge.username}")
    db.session.delete(assignment)
    db.session.commit()


# --- scoring ---------------------------------------------------------------------------------------

def get_assignment(user, assignment_id: int) -> Assignment:
    """The judge's own assignment (404 for anyone else's: whose entries a judge has is not for others)."""
    assignment = db.session.get(Assignment, assignment_id)
    if assignment is None or assignment.judge_id != user.id:
        raise ReslibError(_("没有找到这项评审任务。"), code="not_found", status=404)
    return assignment


def my_assignments(user) -> list[Assignment]:
    return list(db.session.scalars(select(Assignment).join(Entry)
                                   .where(Assignment.judge_id == user.id).order_by(Entry.competition_id, Assignment.id)))


def check_scores(rubric: list[dict], points: list, comments: list) -> list[dict]:
    """The scores as typed, one per criterion: whole numbers from 0 to its weight, a comment where asked."""
    if len(points) != len(rubric):
        raise ReslibError(_("请为每一项评分"), field="points")
    scores = []
    for index, (criterion, value, comment) in enumerate(zip(rubric, points, comments, strict=True)):
        text = str(value if value is not None else "").strip()
        if not (text.isascii() and text.isdigit()) or int(text) > criterion["weight"]:
            raise ReslibError(_("“%(name)s”应为 0 到 %(max)s 的整数", name=criterion["name"], max=criterion["weight"]),
                              field=f"points-{index}")
        comment = (comment or "").strip()
        if criterion.get("comment") and not comment:
            raise ReslibError(_("请填写“%(name)s”的评语", name=criterion["name"]), field=f"comment-{index}")
        if len(comment) > 500:
            raise ReslibError(_("评语不能超过 500 个字"), field=f"comment-{index}")
        scores.append({"points": int(text), "comment": comment})
    return scores


def submit_scores(user, assignment: Assignment, points: list, comments: list, reason: str = "") -> Assignment:
    """A judge scores (or re-scores) an entry. While judging is open that is free; once closed it is a
    correction that needs a reason and goes on the record; once published it is refused. Commits."""
    competition = assignment.entry.competition
    if competition.published_at is not None:
        raise ReslibError(_("评比结果已发布，评分不能再改"), code="published", status=409)
    if competition.status not in ("judging", "closed"):
        raise ReslibError(_("评比还没有进入评审阶段"), code="not_judging", status=409)
    scores = check_scores(competition.rubric, points, comments)
    total = float(sum(score["points"] for score in scores))
    reason = (reason or "").strip()
    if competition.status == "closed":
        if not reason:
            raise ReslibError(_("评审已结束，修改评分须填写更正理由"), field="reason")
        if len(reason) > 500:
            raise ReslibError(_("更正理由不能超过 500 个字"), field="reason")
        audit.record("awards.score_corrected", actor=user, target=assignment.entry,
                     detail=f"{assignment.total:g} → {total:g}：{reason}")
        assignment.corrected_reason = reason
    assignment.scores_json, assignment.total = json.dumps(scores, ensure_ascii=False), total
    assignment.submitted_at = utcnow()
    db.session.flush()
    if competition.status == "judging":
        _check_disagreement(assignment.entry)
    db.session.commit()
    return assignment


def _check_disagreement(entry: Entry) -> None:
    """All judges in and apart by more than the margin: flag the entry and add one further judge if none was."""
    totals = [assignment.total for assignment in entry.assignments if assignment.submitted_at is not None]
    if len(totals) < len(entry.assignments) or len(totals) < 2:
        return
    apart = max(totals) - min(totals) > entry.competition.disagreement_margin
    entry.flagged = apart
    if apart and not any(assignment.extra for assignment in entry.assignments):
        judge = _pick(entry, panel(entry.competition), _load(entry.competition))
        if judge is not None:
            entry.assignments.append(Assignment(judge_id=judge.id, extra=True))
            audit.record("awards.assigned", target=entry, detail=f"+ {judge.username}（评分差距超过 "
                                                                  f"{entry.competition.disagreement_margin} 分）")


def progress(competition: Competition) -> list[dict]:
    """Each judge's count of entries scored and assigned."""
    found = {}
    for assignment in db.session.scalars(select(Assignment).join(Entry)
                                         .where(Entry.competition_id == competition.id)):
        row = found.setdefault(assignment.judge_id, {"judge": assignment.judge, "done": 0, "total": 0})
        row["total"] += 1
        row["done"] += assignment.submitted_at is not None
    return sorted(found.values(), key=lambda row: row["judge"].id)


def mean_score(entry: Entry) -> float | None:
    totals = [assignment.total for assignment in entry.assignments if assignment.submitted_at is not None]
    return round(sum(totals) / len(totals), 2) if totals else None
