"""The points ledger, the rules that fill it, the periods it is measured in, and its running totals.

The ledger is append-only: a wrong award is corrected, and a withdrawn resource's points taken back, by a new
opposite entry, so the history stays complete for appeals. Every entry names its source in ``source_key``, which is
unique: a source credits at most once, whatever the retries, double clicks or worker restarts.

The totals (``points_person_term``, ``points_school_day``, ``points_lineage_term``) are what the pages read; they
are kept up to date as events arrive and can always be rebuilt from the ledger and the usage events
(``reslib points recompute``).
"""
import json
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reslib.extensions import db
from reslib.models import User, append_only, utcnow

# Where points come from (PointEntry.kind).
KINDS = {
    "manual": _l("手动记分"),
    "study": _l("学习资源"),
    "view": _l("浏览资源"),
    "download": _l("下载资源"),
    "rate": _l("评价资源"),
    "share": _l("资源被学习"),
    "contribute": _l("贡献资源"),
    "prize": _l("评比获奖"),
}


@append_only
class PointEntry(db.Model):
    __tablename__ = "points_entry"
    __table_args__ = (Index("ix_points_entry_user_day", "user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    amount: Mapped[int]  # negative for deductions, corrections and reversals
    reason: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16), default="manual")
    source_key: Mapped[str] = mapped_column(String(120), unique=True)  # what produced it: one entry per source
    rule_version_id: Mapped[int | None] = mapped_column(ForeignKey("points_rule_version.id"))  # None: manual
    lineage_id: Mapped[int | None] = mapped_column(index=True)  # the resource it is about, over its versions
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))  # the person's school at the time
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # when it was earned (UTC)
    day: Mapped[date]  # occurred_at's day in the district's time zone: daily caps count by it
    awarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))  # None: the system or the operator
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # when it was written

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    awarded_by: Mapped[User | None] = relationship(foreign_keys=[awarded_by_id])

    @property
    def kind_label(self) -> str:
        return str(KINDS.get(self.kind, self.kind))


class RuleVersion(db.Model):
    """One version of the rule table (see rules.DEFAULT_RULES), in effect from its day until the next one's.
    Never changed once its day has come: ledger entries name the version that produced them."""

    __tablename__ = "points_rule_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[date] = mapped_column(index=True)
    rules_json: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(255), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    created_by: Mapped[User | None] = relationship()

    @property
    def rules(self) -> dict:
        return json.loads(self.rules_json)


class PointTerm(db.Model):
    """A 学期: from ``starts_on`` to the day before the next term starts (local days)."""

    __tablename__ = "points_term"

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_on: Mapped[date] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(String(64))  # "" for a default term: periods.default_name names it


class Baseline(db.Model):
    """基本分值: the points a role should reach in a term; a school's own figure overrides the district's."""

    __tablename__ = "points_baseline"
    __table_args__ = (db.UniqueConstraint("term_id", "role", "school_id", name="uq_points_baseline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("points_term.id"))
    role: Mapped[str] = mapped_column(String(16))  # teacher or student
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))  # None: every school
    points: Mapped[int]


class PersonTerm(db.Model):
    """A person's totals in a term: points, of them from contributions, uses of resources, page views."""

    __tablename__ = "points_person_term"
    __table_args__ = (Index("ix_points_person_term_school", "term_id", "school_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("points_term.id"), primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    points: Mapped[int] = mapped_column(default=0)
    contributed: Mapped[int] = mapped_column(default=0)
    uses: Mapped[int] = mapped_column(default=0)  # views, plays and downloads
    visits: Mapped[int] = mapped_column(default=0)  # resource pages opened


class SchoolDay(db.Model):
    """A school's totals on a local day, for its trend."""

    __tablename__ = "points_school_day"

    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    points: Mapped[int] = mapped_column(default=0)
    uses: Mapped[int] = mapped_column(default=0)
    visits: Mapped[int] = mapped_column(default=0)


class LineageTerm(db.Model):
    """A resource's use in a term, over all its versions; ``school_id`` is its owner's school."""

    __tablename__ = "points_lineage_term"
    __table_args__ = (Index("ix_points_lineage_term_school", "term_id", "school_id"),)

    lineage_id: Mapped[int] = mapped_column(primary_key=True)
    term_id: Mapped[int] = mapped_column(ForeignKey("points_term.id"), primary_key=True)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"))
    uses: Mapped[int] = mapped_column(default=0)
    visits: Mapped[int] = mapped_column(default=0)
    studies: Mapped[int] = mapped_column(default=0)  # plays past the study threshold that earned points


class CountedEvent(db.Model):
    """A usage event already counted in the totals: a retried crediting of the same event counts it once."""

    __tablename__ = "points_counted_event"

    event_id: Mapped[int] = mapped_column(primary_key=True)  # no foreign key: usage events are the core's


class ResourceValue(db.Model):
    """A resource's point value and how it was computed, as of its last change (shown on its page)."""

    __tablename__ = "points_resource_value"

    resource_id: Mapped[int] = mapped_column(primary_key=True)  # no foreign key: a deleted draft's row goes after it
    value: Mapped[int]
    explanation_json: Mapped[str] = mapped_column(Text)
    rule_version_id: Mapped[int] = mapped_column(ForeignKey("points_rule_version.id"))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def explanation(self) -> dict:
        return json.loads(self.explanation_json)
