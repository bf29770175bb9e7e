"""Entering a competition: who may, with which resource and co-authors, within the window and the limits; the
school's pre-selection within its quota; withdrawing before the deadline."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from plugins.awards.models import Category, Competition, Entry, EntryAuthor
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Resource, User
from reslib.permissions import can
from reslib.services import audit
from reslib.services.accounts import user_by_username
from reslib.services.tables import xlsx_bytes
from reslib.templating import local_today

# A resource may be entered while it is still on its way through review; only published ones are judged.
ENTERABLE_STATUSES = ("draft", "submitted", "school_approved", "district_review", "published")


def window_open(competition: Competition) -> bool:
    today = local_today()
    return (competition.status == "open" and (competition.opens_on is None or competition.opens_on <= today)
            and (competition.entry_deadline is None or today <= competition.entry_deadline))


def eligibility_problem(competition: Competition, user) -> str | None:
    """Why ``user`` may not enter (or be named as an author), or None."""
    if not user.is_active:
        return _("账号 %(name)s 未启用", name=user.username)
    if not any(user.has_role(role) for role in competition.roles):
        return _("%(name)s 不在本次评比的参评范围（身份）内", name=user.real_name)
    schools = competition.eligible_school_ids
    if schools and user.school_id not in schools:
        return _("%(name)s 所在学校不在本次评比的参评范围内", name=user.real_name)
    return None


def enter(user, competition: Competition, resource: Resource, category: Category, co_authors=()) -> Entry:
    """Enter one of ``user``'s resources; ``co_authors`` are usernames of district accounts. Commits."""
    if not window_open(competition):
        if competition.status == "open" and competition.opens_on and local_today() < competition.opens_on:
            raise ReslibError(_("征集从 %(day)s 开始，现在还不能报名", day=competition.opens_on.isoformat()))
        raise ReslibError(_("本次评比已截止征集，不能再报名"), code="closed", status=409)
    problem = eligibility_problem(competition, user)
    if problem:
        raise ReslibError(problem, code="forbidden", status=403)
    if resource.owner_id != user.id or resource.status not in ENTERABLE_STATUSES:
        raise ReslibError(_("只能用自己上传的资源参评"), field="resource_id")
    if category.competition_id != competition.id:
        raise ReslibError(_("请选择本次评比的组别"), field="category_id")
    mismatch = category_mismatch(category, resource)
    if mismatch:
        raise ReslibError(mismatch, field="category_id")
    if db.session.scalar(select(Entry.id).where(Entry.competition_id == competition.id,
                                                Entry.lineage_id == resource.lineage_id)):
        raise ReslibError(_("这个资源已经参加了本次评比，同一资源只能报名一次"), field="resource_id")
    entered = db.session.scalar(select(func.count()).select_from(EntryAuthor).join(Entry)
                                .where(Entry.competition_id == competition.id, EntryAuthor.user_id == user.id))
    if entered >= competition.per_teacher:
        raise ReslibError(_("每人最多报名 %(n)s 件作品，你已报满", n=competition.per_teacher), field="resource_id")
    authors = [user, *_co_authors(competition, user, co_authors)]
    entry = Entry(competition_id=competition.id, category_id=category.id, resource_id=resource.id,
                  lineage_id=resource.lineage_id, submitted_by_id=user.id, school_id=user.school_id)
    entry.authors = [EntryAuthor(user_id=author.id, position=index) for index, author in enumerate(authors)]
    db.session.add(entry)
    try:
        db.session.flush()
    except IntegrityError as exc:  # the same resource entered a moment ago from another tab
        db.session.rollback()
        raise ReslibError(_("这个资源已经参加了本次评比，同一资源只能报名一次"), field="resource_id") from exc
    audit.record("awards.entered", actor=user, target=entry, school_id=user.school_id,
                 detail=f"{competition.title}：{resource.title}")
    db.session.commit()
    return entry


def category_mismatch(category: Category, resource: Resource) -> str | None:
    for column in ("kind", "form_id", "subject_id", "stage_id"):
        wanted = getattr(category, column)
        if wanted is not None and getattr(resource, column) != wanted:
            return _("这个资源不符合组别“%(name)s”的要求（类型、学科或学段不同）", name=category.name)
    if category.section and resource.section != category.section:
        return _("这个资源不符合组别“%(name)s”的要求（国家平台版块不同）", name=category.name)
    return None


def _co_authors(competition: Competition, user, usernames) -> list[User]:
    found = []
    for username in usernames:
        username = (username or "").strip()
        if not username:
            continue
        person = user_by_username(username)
        if person is None:
            raise ReslibError(_("没有账号“%(name)s”，合作者须是全区的账号", name=username), field="co_authors")
        if person.id == user.id or person in found:
            continue
        problem = eligibility_problem(competition, person)
        if problem:
            raise ReslibError(problem, field="co_authors")
        found.append(person)
    if len(found) + 1 > competition.max_authors:
        raise ReslibError(_("每件作品最多 %(n)s 位作者（含本人）", n=competition.max_authors), field="co_authors")
    return found


def withdraw(user, entry: Entry) -> None:
    """The entrant takes the entry back before the deadline. Commits."""
    if entry.submitted_by_id != user.id:
        raise ReslibError(_("只能撤回自己报名的作品"), code="forbidden", status=403)
    if not window_open(entry.competition):
        raise ReslibError(_("已截止征集，作品不能再撤回"), code="closed", status=409)
    audit.record("awards.withdrawn", actor=user, target=entry, school_id=entry.school_id,
                 detail=f"{entry.competition.title}：{entry.resource.title}")
    db.session.delete(entry)
    db.session.commit()


def mine(user, competition: Competition) -> list[Entry]:
    return list(db.session.scalars(select(Entry).join(EntryAuthor).where(
        Entry.competition_id == competition.id, EntryAuthor.user_id == user.id).order_by(Entry.id)))


def enterable_resources(user) -> list[Resource]:
    """The user's own resources that could be entered, newest first (one version of each)."""
    latest = (select(func.max(Resource.id)).where(Resource.owner_id == user.id,
                                                  Resource.status.in_(ENTERABLE_STATUSES))
              .group_by(Resource.lineage_id))
    return list(db.session.scalars(select(Resource).where(Resource.id.in_(latest)).order_by(Resource.id.desc())))


# --- the school's stage ------------------------------------------------------------------------------

def require_school_admin(user, school_id) -> None:
    if school_id is None or not (can(user, "district.manage") or (user.has_role("school_admin")
                                                                  and user.school_id == school_id)):
        raise ReslibError(_("只有本校管理员可以查看和推荐本校的参评作品"), code="forbidden", status=403)


def school_entries(competition: Competition, school_id: int) -> list[Entry]:
    return list(db.session.scalars(select(Entry).where(Entry.competition_id == competition.id,
                                                       Entry.school_id == school_id).order_by(Entry.id)))


def school_export(actor, competition: Competition, school_id: int) -> bytes:
    """The school's entries as XLSX, for its admins; audited."""
    require_school_admin(actor, school_id)
    rows = [[entry.id, entry.resource.title, entry.category.name, "、".join(a.user.real_name for a in entry.authors),
             entry.resource.status_label, _("是") if entry.selected else _("否"), entry.created_at.date().isoformat()]
            for entry in school_entries(competition, school_id)]
    audit.record("awards.exported", actor=actor, target=competition, school_id=school_id,
                 detail=_l("本校参评作品 %(n)s 件", n=len(rows)))
    db.session.commit()
    header = [_("编号"), _("作品"), _("组别"), _("作者"), _("资源状态"), _("学校推荐"), _("报名日期")]
    return xlsx_bytes(competition.title, header, rows)


def select_for_district(actor, entry: Entry, selected: bool) -> None:
    """The school sends the entry on to the district stage (or takes it back), within its quota. Commits."""
    competition = entry.competition
    require_school_admin(actor, entry.school_id)
    if competition.school_quota is None:
        raise ReslibError(_("本次评比没有学校推荐环节，作品直接进入区级评审"), code="no_quota", status=409)
    if competition.status not in ("open",):
        raise ReslibError(_("征集已结束，学校推荐名单不能再改"), code="closed", status=409)
    if selected and not entry.selected:
        chosen = db.session.scalar(select(func.count()).select_from(Entry).where(
            Entry.competition_id == competition.id, Entry.school_id == entry.school_id, Entry.selected.is_(True)))
        if chosen >= competition.school_quota:
            raise ReslibError(_("本校推荐名额为 %(n)s 件，已经推荐满了；请先取消一件再推荐", n=competition.school_quota),
                              code="over_quota", status=409)
    entry.selected = selected
    audit.record("awards.selected" if selected else "awards.unselected", actor=actor, target=entry,
                 school_id=entry.school_id, detail=f"{competition.title}：{entry.resource.title}")
    db.session.commit()


def judged_entries(competition: Competition) -> list[Entry]:
    """The entries judged at the district: a version of the resource published (the one entered, or a newer one
    that superseded it), and sent on by the school where there is a quota."""
    published = select(Resource.lineage_id).where(Resource.status == "published")
    stmt = (select(Entry).where(Entry.competition_id == competition.id, Entry.lineage_id.in_(published))
            .order_by(Entry.id))
    if competition.school_quota is not None:
        stmt = stmt.where(Entry.selected.is_(True))
    return list(db.session.scalars(stmt))
