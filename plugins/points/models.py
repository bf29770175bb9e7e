"""The points ledger: one row per award or correction, never changed once written."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reslib.extensions import db
from reslib.models import User, append_only, utcnow

# Where points come from. Only manual awards exist today; resource usage and contributions come later.
KINDS = {"manual": _l("手动记分")}


# A wrong award is corrected by a new opposite entry, so the history stays complete for appeals.
@append_only
class PointEntry(db.Model):
    __tablename__ = "points_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount: Mapped[int]  # negative for deductions and corrections
    reason: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="manual")
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))  # None: the system or the operator
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    awarded_by: Mapped[User | None] = relationship(foreign_keys=[awarded_by_id])

    @property
    def kind_label(self) -> str:
        return str(KINDS.get(self.kind, self.kind))
