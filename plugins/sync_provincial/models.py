"""Recommendation quotas: how many resources each unit should recommend upward, per section and year."""
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reslib.extensions import db
from reslib.models import Unit, User, utcnow


class RecommendationQuota(db.Model):
    """One cell of the 推荐名额分配表: a unit's quota for one section (版块) in one year.

    A missing row means 0, so the table only holds cells someone actually set.
    """

    __tablename__ = "sync_provincial_quota"
    __table_args__ = (
        UniqueConstraint("unit_id", "section", "year", name="uq_sync_provincial_quota_unit_section_year"),
        CheckConstraint("quota >= 0", name="quota_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    section: Mapped[str] = mapped_column(String(32))
    quota: Mapped[int] = mapped_column(default=0)
    year: Mapped[int]
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    updated_by: Mapped[User | None] = relationship()
