"""Recommendation rounds upward (推荐): a round's quotas per unit and section, and each resource recommended in it;
harvest sources, their runs, and where each harvested resource came from."""
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reslib.extensions import db
from reslib.models import Resource, School, Unit, User, utcnow

# A recommendation's life: a school proposes, the district selects within the quota, the selection is submitted
# (as a package or through a platform's API), and the platform accepts or rejects it, then puts it online.
RECOMMENDATION_STATUSES = ("proposed", "selected", "submitted", "accepted", "rejected", "online")


class RecommendationRound(db.Model):
    """One call for resources from a platform, e.g. 2022 国家中小学智慧教育平台专题资源 (seeds 001, 003)."""

    __tablename__ = "sync_provincial_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int]
    platform: Mapped[str] = mapped_column(String(100))  # as printed on the 推荐表 and certificates
    sections: Mapped[str] = mapped_column(String(200))  # the national sections it asks for, "、"-joined
    min_per_section: Mapped[int] = mapped_column(default=0)  # the platform's floor, e.g. 每个方面至少推荐10条
    deadline: Mapped[date]
    status: Mapped[str] = mapped_column(String(16), default="open")  # open: schools propose; closed: no more
    submit_url: Mapped[str | None] = mapped_column(String(1000))  # the platform's API; None = package by hand
    contact: Mapped[str] = mapped_column(Text, default="{}")  # seed 000's 联系表, as JSON
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def section_list(self) -> list[str]:
        return [name for name in self.sections.split("、") if name]


class RecommendationQuota(db.Model):
    """One cell of a round's 推荐名额分配表: how many resources a unit recommends in one section.

    A missing row means 0, so the table only holds cells someone actually set.
    """

    __tablename__ = "sync_provincial_quota"
    __table_args__ = (
        UniqueConstraint("round_id", "unit_id", "section", name="uq_sync_provincial_quota_round_unit_section"),
        CheckConstraint("quota >= 0", name="quota_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("sync_provincial_round.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    section: Mapped[str] = mapped_column(String(32))
    quota: Mapped[int] = mapped_column(default=0)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    unit: Mapped[Unit] = relationship()
    updated_by: Mapped[User | None] = relationship()


class Recommendation(db.Model):
    """A resource recommended in a round, counted against its school's unit and the section it is meant for."""

    __tablename__ = "sync_provincial_recommendation"
    __table_args__ = (UniqueConstraint("round_id", "resource_id", name="uq_sync_provincial_recommendation_round_resource"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("sync_provincial_round.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    section: Mapped[str] = mapped_column(String(32))
    column: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(String(200), default="")  # 备注 on the 推荐表
    status: Mapped[str] = mapped_column(String(16), default="proposed", index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")  # why it was rejected
    online_url: Mapped[str | None] = mapped_column(String(1000))
    delivery_key: Mapped[str] = mapped_column(String(36), unique=True)  # idempotency key for the platform's API
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    round: Mapped[RecommendationRound] = relationship()
    resource: Mapped[Resource] = relationship()
    unit: Mapped[Unit] = relationship()
    proposed_by: Mapped[User] = relationship()


# --- harvesting

HARVEST_KINDS = ("oai", "json")  # an OAI-PMH 2.0 endpoint, or a JSON catalogue (see harvest.py)
HARVEST_MODES = ("link", "copy")  # resources that link to the record, or hold a copy of its file


class HarvestSource(db.Model):
    """A catalogue the district harvests into one of its libraries, on a schedule."""

    __tablename__ = "sync_provincial_harvest_source"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(8), default="oai")
    base_url: Mapped[str] = mapped_column(String(1000))
    metadata_prefix: Mapped[str] = mapped_column(String(16), default="nsr")  # oai: nsr or oai_dc
    set_spec: Mapped[str] = mapped_column(String(200), default="")
    mode: Mapped[str] = mapped_column(String(8), default="link")
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))  # the target library; None = district
    category_mapping: Mapped[str] = mapped_column(Text, default="")  # lines "their value = our category path"
    interval_hours: Mapped[int] = mapped_column(default=24)
    enabled: Mapped[bool] = mapped_column(default=True)
    # The district admin the harvest acts as (owner of what it creates): whoever saved the source last.
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    last_datestamp: Mapped[str | None] = mapped_column(String(32))  # the newest seen, as the source writes it
    failures: Mapped[int] = mapped_column(default=0)  # consecutive failed runs
    next_run_at: Mapped[datetime | None]  # None = due now
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    school: Mapped[School | None] = relationship()
    account: Mapped[User] = relationship()


class HarvestRun(db.Model):
    """One run of a source: what it changed and what went wrong."""

    __tablename__ = "sync_provincial_harvest_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sync_provincial_harvest_source.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(8), default="running")  # running, ok, failed
    added: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    withdrawn: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)  # records refused, the others were harvested
    warnings: Mapped[int] = mapped_column(default=0)  # e.g. a category with no mapping, left empty
    error: Mapped[str] = mapped_column(Text, default="")  # why the run failed
    notes: Mapped[str] = mapped_column(Text, default="")  # the records' errors and warnings, a line each

    source: Mapped[HarvestSource] = relationship()

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class HarvestedRecord(db.Model):
    """Where a harvested resource came from: its source, the record's identifier there, and its datestamp."""

    __tablename__ = "sync_provincial_harvested_record"
    __table_args__ = (UniqueConstraint("source_id", "identifier", name="uq_sync_provincial_harvested_record_source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"), unique=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sync_provincial_harvest_source.id"))
    identifier: Mapped[str] = mapped_column(String(500))
    datestamp: Mapped[str] = mapped_column(String(32))
    harvested_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    source: Mapped[HarvestSource] = relationship()
