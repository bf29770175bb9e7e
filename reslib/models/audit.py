"""The audit log: append-only. The app never updates or deletes a row (guarded here and by DB triggers)."""
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from reslib.extensions import db
from reslib.models.base import append_only, utcnow


@append_only
class AuditEvent(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"), index=True)
    actor_name: Mapped[str | None] = mapped_column(String(64))  # as it was at the time
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)  # whose school it concerns
    address: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(48), index=True)
    target: Mapped[str | None] = mapped_column(String(128))
    result: Mapped[str] = mapped_column(String(16), default="ok")
    detail: Mapped[str | None] = mapped_column(String(500))
