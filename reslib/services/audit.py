"""Writing and reading the append-only audit log."""
from flask import has_request_context, request
from sqlalchemy import select

from reslib.extensions import db
from reslib.models import AuditEvent

ACTIONS = (
    "login", "login.failed", "login.locked", "login.refused", "logout",
    "account.registered", "account.verified", "account.rejected", "account.disabled", "account.enabled",
    "account.unlocked", "account.transferred", "account.roles_changed", "account.created",
    "password.reset", "password.changed", "token.created", "token.revoked",
    "roster.imported", "schools.imported", "personal_data.exported",
)


def record(action: str, *, actor=None, target=None, result: str = "ok", detail: str | None = None, school_id=None):
    """Add an audit event to the current transaction; the caller commits it with the change it describes."""
    if action not in ACTIONS and "." not in action:
        raise ValueError(f"audit action {action!r} must be namespaced, e.g. 'points.awarded'")
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", None),
        address=request.remote_addr if has_request_context() else "cli",
        target=_describe(target),
        school_id=school_id if school_id is not None else getattr(target, "school_id", None),
        result=result,
        detail=(detail or None) and detail[:500],
    )
    db.session.add(event)
    return event


def _describe(target) -> str | None:
    if target is None or isinstance(target, str):
        return target
    if hasattr(target, "username"):
        return f"account:{target.username}"
    return f"{type(target).__name__.lower()}:{getattr(target, 'id', '?')}"


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
