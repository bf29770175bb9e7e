"""District competitions (区级评比): their categories, panel, entries with authors, judges' scores and the
certificates that prizes (and resources accepted upward) earn."""
import json
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reslib.extensions import db
from reslib.models import Resource, School, User, utcnow

STATUSES = {
    "draft": _l("草稿"),
    "open": _l("征集中"),
    "judging": _l("评审中"),
    "closed": _l("已结束"),
}
PRIZE_LABELS = {"first": _l("一等奖"), "second": _l("二等奖"), "third": _l("三等奖")}
# The seed's review criteria (方向正确、科学规范、公益合法) and the technical standard, out of 100.
DEFAULT_RUBRIC = [
    {"name": "方向正确", "weight": 25, "descriptor": "导向正确，符合课程标准与育人要求", "comment": False},
    {"name": "科学规范", "weight": 35, "descriptor": "内容科学准确，表述规范，设计合理", "comment": True},
    {"name": "公益合法", "weight": 20, "descriptor": "公益属性，无广告，无侵权", "comment": False},
    {"name": "技术标准", "weight": 20, "descriptor": "画面、声音、格式符合资源技术标准", "comment": False},
]


class Competition(db.Model):
    __tablename__ = "awards_competition"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(128), unique=True)
    year: Mapped[int]
    description: Mapped[str | None] = mapped_column(Text)
    prize_ratio: Mapped[str] = mapped_column(String(16))  # "3:3:4" = 1st:2nd:3rd, the categories' default
    max_award_rate: Mapped[int] = mapped_column(default=80)  # percent of entries that may win at most
    opens_on: Mapped[date | None]
    entry_deadline: Mapped[date | None]  # the last day entries are taken (local time)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    eligible_roles: Mapped[str] = mapped_column(String(64), default="teacher")  # comma-separated
    eligible_schools_json: Mapped[str] = mapped_column(Text, default="[]")  # school ids; empty: every school
    per_teacher: Mapped[int] = mapped_column(default=3)  # entries one person may submit
    school_quota: Mapped[int | None]  # entries a school may send on to the district; None: no school stage
    max_authors: Mapped[int] = mapped_column(default=3)
    judges_per_entry: Mapped[int] = mapped_column(default=2)
    disagreement_margin: Mapped[int] = mapped_column(default=20)  # points out of 100
    blind: Mapped[bool] = mapped_column(default=True)
    rubric_json: Mapped[str] = mapped_column(Text, default=lambda: json.dumps(DEFAULT_RUBRIC, ensure_ascii=False))
    published_at: Mapped[datetime | None]
    # None when the server operator (reslib.permissions.OPERATOR) created it: it has no account row.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()
    categories: Mapped[list["Category"]] = relationship(back_populates="competition", order_by="Category.id",
                                                        cascade="all, delete-orphan")

    @property
    def status_label(self) -> str:
        return str(STATUSES[self.status])

    @property
    def rubric(self) -> list[dict]:
        return json.loads(self.rubric_json)

    @property
    def eligible_school_ids(self) -> list[int]:
        return json.loads(self.eligible_schools_json or "[]")

    @property
    def roles(self) -> list[str]:
        return [role for role in self.eligible_roles.split(",") if role]


class Category(db.Model):
    """A group of entries ranked together (组别): by kind and form, subject, 学段 or the national 版块."""

    __tablename__ = "awards_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("awards_competition.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))  # Resource.kind; None: any
    form_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    stage_id: Mapped[int | None] = mapped_column(ForeignKey("term.id"))
    section: Mapped[str] = mapped_column(String(32), default="")  # national platform 版块; "": any
    prize_ratio: Mapped[str] = mapped_column(String(16))
    max_award_rate: Mapped[int]

    competition: Mapped[Competition] = relationship(back_populates="categories")


class Judge(db.Model):
    """A member of the competition's panel (评审专家)."""

    __tablename__ = "awards_judge"

    competition_id: Mapped[int] = mapped_column(ForeignKey("awards_competition.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)

    user: Mapped[User] = relationship()


class Entry(db.Model):
    """A resource entered in a competition. Withdrawing deletes it (the audit log keeps that it happened), so one
    resource is in a competition at most once."""

    __tablename__ = "awards_entry"
    __table_args__ = (UniqueConstraint("competition_id", "lineage_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    competition_id: Mapped[int] = mapped_column(ForeignKey("awards_competition.id"), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("awards_category.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("resource.id"))
    lineage_id: Mapped[int]
    submitted_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    selected: Mapped[bool] = mapped_column(default=False)  # sent on by the school (only with a school quota)
    flagged: Mapped[bool] = mapped_column(default=False)  # the judges disagreed by more than the margin
    score: Mapped[float | None]  # the judges' mean, kept when the results are published
    prize: Mapped[str | None] = mapped_column(String(16))  # first/second/third once published
    prize_override: Mapped[str | None] = mapped_column(String(16))  # the admin's adjustment: a level or "none"
    override_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    competition: Mapped[Competition] = relationship()
    category: Mapped[Category] = relationship()
    resource: Mapped[Resource] = relationship()
    submitted_by: Mapped[User] = relationship()
    school: Mapped[School | None] = relationship()
    authors: Mapped[list["EntryAuthor"]] = relationship(order_by="EntryAuthor.position",
                                                        cascade="all, delete-orphan")
    assignments: Mapped[list["Assignment"]] = relationship(back_populates="entry", order_by="Assignment.id",
                                                           cascade="all, delete-orphan")

    @property
    def author_ids(self) -> list[int]:
        return [author.user_id for author in self.authors]


class EntryAuthor(db.Model):
    __tablename__ = "awards_entry_author"

    entry_id: Mapped[int] = mapped_column(ForeignKey("awards_entry.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    user: Mapped[User] = relationship()


class Assignment(db.Model):
    """One judge's scoring of one entry."""

    __tablename__ = "awards_assignment"
    __table_args__ = (UniqueConstraint("entry_id", "judge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("awards_entry.id"), index=True)
    judge_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    extra: Mapped[bool] = mapped_column(default=False)  # added because the first judges disagreed
    scores_json: Mapped[str | None] = mapped_column(Text)  # [{"points": n, "comment": "…"}] in rubric order
    total: Mapped[float | None]
    submitted_at: Mapped[datetime | None]
    corrected_reason: Mapped[str | None] = mapped_column(String(500))  # the last correction after the lock
    assigned_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="assignments")
    judge: Mapped[User] = relationship()

    @property
    def scores(self) -> list[dict]:
        return json.loads(self.scores_json) if self.scores_json else []


class Certificate(db.Model):
    """A certificate (数字证书) for one person: a prize of an entry they (co-)authored, or a resource of theirs
    accepted by a provincial or national platform. Its number cannot be guessed; anyone may verify it."""

    __tablename__ = "awards_certificate"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    source_key: Mapped[str] = mapped_column(String(128), unique=True)  # what earned it, for this holder
    holder_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    holder_name: Mapped[str] = mapped_column(String(64))  # as printed
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("awards_entry.id"), index=True)
    level: Mapped[str] = mapped_column(String(16))  # first/second/third, or "selected" (accepted upward)
    honour: Mapped[str] = mapped_column(String(64))  # what is printed: 一等奖, 入选省级平台 …
    occasion: Mapped[str] = mapped_column(String(200))  # the competition, or the platform
    work_title: Mapped[str] = mapped_column(String(200))
    issued_on: Mapped[date]
    issuer: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None]
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    holder: Mapped[User] = relationship()
    entry: Mapped[Entry | None] = relationship()

    @property
    def counts_as_paper(self) -> bool:
        """区级二等奖及以上 counts as one published paper in junior and intermediate 职称评审 (seed 004)."""
        return self.level in ("first", "second")
