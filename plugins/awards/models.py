"""District competitions (区级评比). Their entries arrive with resources in a later release."""
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reslib.extensions import db
from reslib.models import User, utcnow

STATUSES = {
    "draft": _l("草稿"),
    "open": _l("征集中"),
    "judging": _l("评审中"),
    "closed": _l("已结束"),
}


class Competition(db.Model):
    __tablename__ = "awards_competition"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128), unique=True)
    year: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)
    prize_ratio: Mapped[str] = mapped_column(String(16))  # "3:3:4" = 1st:2nd:3rd
    max_award_rate: Mapped[int] = mapped_column(default=80)  # percent of entries that may win at most
    entry_deadline: Mapped[date | None]
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # None when the server operator (reslib.permissions.OPERATOR) created it: it has no account row.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return str(STATUSES[self.status])
