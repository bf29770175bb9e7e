"""Writing and reading the append-only audit log."""
from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from reslib.extensions import db
from reslib.messages import in_district_language
from reslib.models import AuditEvent, Resource, School
from reslib.models.base import as_id
from reslib.models.library import STEP_LABELS, VOCABULARIES
from reslib.plugins import hooks

# The core's actions and how the audit log names them; review steps and plugins' actions come from
# action_labels().
ACTIONS = {
    "login": _l("登录"), "login.failed": _l("登录失败"), "login.locked": _l("账号锁定"),
    "login.refused": _l("拒绝登录"), "logout": _l("退出"),
    "account.registered": _l("实名注册"), "account.verified": _l("通过实名审核"), "account.rejected": _l("驳回实名审核"),
    "account.disabled": _l("停用账号"), "account.enabled": _l("启用账号"), "account.unlocked": _l("解除锁定"),
    "account.transferred": _l("调动学校"), "account.roles_changed": _l("变更角色"), "account.created": _l("创建账号"),
    "password.reset": _l("重置密码"), "password.changed": _l("修改密码"),
    "token.created": _l("创建 API 令牌"), "token.revoked": _l("撤销 API 令牌"),
    "roster.imported": _l("导入花名册"), "schools.imported": _l("导入学校"),
    "personal_data.exported": _l("导出个人信息"),
    "resource.imported": _l("批量导入资源"), "resource.deleted": _l("删除资源"), "review.score": _l("评审打分"),
    "taxonomy.added": _l("添加分类条目"), "taxonomy.renamed": _l("分类条目改名"),
    "taxonomy.retired": _l("停用分类条目"), "taxonomy.restored": _l("恢复分类条目"),
}
RESULTS = {"ok": _l("成功"), "denied": _l("拒绝")}
# What a target's kind (the text before its colon) names, when it is shown in words.
TARGET_KINDS = {"account": _l("账号"), "school": _l("学校"), "resource": _l("资源"), "year": _l("年度"), **VOCABULARIES}
TARGETS = {"library:district": _l("区级资源库"), "schools": _l("学校名单")}


def record(action: str, *, actor=None, target=None, result: str = "ok", detail=None, school_id=None):
    """Add an audit event to the current transaction; the caller commits it with the change it describes.

    ``detail`` is written in the district's language, whatever the person acting reads, so the log reads the
    same to everyone: give catalogue text as ``lazy_gettext`` (``_l("连续第 %(n)s 次失败", n=3)``), which is
    rendered here. Text composed from several pieces is composed inside ``messages.in_district_language()``."""
    if action not in ACTIONS and "." not in action:
        raise ValueError(f"audit action {action!r} must be namespaced, e.g. 'points.awarded'")
    with in_district_language():
        detail = str(detail) if detail else None
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None),
        address=request.remote_addr if has_request_context() else "cli",
        target=_describe(target),
        school_id=school_id if school_id is not None else getattr(target, "school_id", None),
        result=result,
        detail=detail and detail[:500],
    )
    db.session.add(event)
    return event


def _describe(target) -> str | None:
    if target is None or isinstance(target, str):
        return target
    if hasattr(target, "username"):
        return f"account:{target.username}"
    return f"{type(target).__name__.lower()}:{getattr(target, 'id', '?')}"


def target_labels(targets) -> dict[str, str]:
    """How the log shows each stored target (``account:li.wei``, ``school:3``, ``resource:12``, ``subject:数学``):
    in words, a school by its name and a resource by its number and title. A kind the core does not know
    (a plugin's) is shown as stored."""
    split = {target: target.partition(":")[::2] for target in set(filter(None, targets))}
    names = {"school": _names(School.name, split), "resource": _names(Resource.title, split)}
    labels = {}
    for target, (kind, value) in split.items():
        if target in TARGETS:
            labels[target] = str(TARGETS[target])
        elif value in names.get(kind, {}):
            number = f"#{value} " if kind == "resource" else ""
            labels[target] = f"{TARGET_KINDS[kind]} {number}{names[kind][value]}"
        elif kind in TARGET_KINDS and value:
            labels[target] = f"{TARGET_KINDS[kind]} {value}"
        else:
            labels[target] = target
    return labels


def _names(column, split) -> dict[str, str]:
    """{id as stored: name} of the targets among ``split`` whose kind is ``column``'s table, in one query."""
    model = column.class_
    kind = model.__name__.lower()
    ids = {as_id(value) for target_kind, value in split.values() if target_kind == kind} - {None}
    if not ids:
        return {}
    return {str(row_id): name for row_id, name in db.session.execute(select(model.id, column).where(model.id.in_(ids)))}


def action_labels() -> dict:
    """How the log names each action: the core's, the review steps' and those plugins declare."""
    labels = {**ACTIONS, **{f"review.{step}": label for step, label in STEP_LABELS.items()}}
    for declared in hooks().audit_actions():
        labels.update(declared or {})
    return labels


def known_actions() -> list[str]:
    """Every action the filter can offer: the core's, and whatever plugins have recorded so far."""
    recorded = db.session.scalars(select(AuditEvent.action).distinct())
    return sorted(set(ACTIONS).union(recorded))


def query_events(*, school_id=None, action=None, actor=None, target=None, result=None):
    """Newest first; ``school_id`` limits to one school's entries (a school admin's view)."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if school_id is not None:
        stmt = stmt.where(AuditEvent.school_id == school_id)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if actor:
        stmt = stmt.where(AuditEvent.actor_name.contains(actor.strip().lower()))
    if target:
        stmt = stmt.where(AuditEvent.target.contains(target.strip()))
    if result:
        stmt = stmt.where(AuditEvent.result == result)
    return stmt
