"""What the district watches (seed 004 §三.3): is the platform healthy, and is the library used and renewed?

Read-only figures for the district's monitoring page. The library's renewal is the seeds' 年更新率: what
entered a library in the last twelve months against all that is in one now, to be at least a tenth.
"""
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import distinct, func, select

from reslib.extensions import db
from reslib.jobs import queue
from reslib.models import User
from reslib.models.accounts import STATUSES as ACCOUNT_STATUSES
from reslib.models.base import utcnow
from reslib.models.library import VISIBLE_STATUSES, Resource, UsageEvent
from reslib.services import search
from reslib.services.reports import accounts_by_status, schools_by_unit
from reslib.services.library import store

RENEWAL_TARGET = 0.10  # seed 004: the library renews at least a tenth of itself each year
RENEWAL_WINDOW = timedelta(days=365)
USE_WINDOW = timedelta(days=30)
# A running worker notes it is alive every minute (jobs.HEARTBEAT_SECONDS); missing a few notes means it stopped.
WORKER_SILENT_AFTER = timedelta(minutes=5)
LOW_DISK_SHARE = 0.10  # free space under this share of the disk is shown as a warning
FAILURES_SHOWN = 20
DATABASE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}  # by SQLAlchemy's dialect name
PROCESSING_WATCHED = ("pending", "running", "failed")  # "done" and files with nothing to process are not shown
METRIC_PREFIX = "reslib_"


@dataclass
class Renewal:
    in_libraries: int
    added: int  # entered a library within RENEWAL_WINDOW

    @property
    def rate(self) -> float | None:
        return self.added / self.in_libraries if self.in_libraries else None

    @property
    def met(self) -> bool:
        return self.rate is not None and self.rate >= RENEWAL_TARGET


@dataclass
class Worker:
    pending_tasks: int
    last_seen: datetime | None

    def running(self, now: datetime) -> bool:
        return self.last_seen is not None and now - self.last_seen <= WORKER_SILENT_AFTER


@dataclass
class Disk:
    total: int
    free: int

    @property
    def low(self) -> bool:
        return self.free < self.total * LOW_DISK_SHARE


def renewal(now: datetime) -> Renewal:
    in_library = Resource.status.in_(VISIBLE_STATUSES)
    return Renewal(
        in_libraries=db.session.scalar(select(func.count(Resource.id)).where(in_library)),
        added=db.session.scalar(select(func.count(Resource.id))
                                .where(in_library, Resource.published_at >= now - RENEWAL_WINDOW)),
    )


def use(now: datetime) -> dict[str, int]:
    """The last USE_WINDOW's views, downloads, people who used a resource, and people who signed in."""
    since = now - USE_WINDOW
    by_kind = dict(db.session.execute(select(UsageEvent.kind, func.count(UsageEvent.id))
                                      .where(UsageEvent.at >= since).group_by(UsageEvent.kind)).all())
    return {
        "views": by_kind.get("view", 0),
        "downloads": by_kind.get("download", 0),
        "users": db.session.scalar(select(func.count(distinct(UsageEvent.user_id))).where(UsageEvent.at >= since)),
        "sign_ins": db.session.scalar(select(func.count(User.id)).where(User.last_login_at >= since)),
    }


def by_school(now: datetime) -> list[dict]:
    """Each school's accounts, use and resources, unit by unit."""
    since, renewed_since = now - USE_WINDOW, now - RENEWAL_WINDOW
    accounts = _per_school(select(User.school_id, func.count(User.id)).where(User.status == "active")
                           .group_by(User.school_id))
    users = _per_school(select(UsageEvent.school_id, func.count(distinct(UsageEvent.user_id)))
                        .where(UsageEvent.at >= since).group_by(UsageEvent.school_id))
    views: dict[int, int] = {}
    downloads: dict[int, int] = {}
    for school_id, kind, count in db.session.execute(
            select(UsageEvent.school_id, UsageEvent.kind, func.count(UsageEvent.id))
            .where(UsageEvent.at >= since, UsageEvent.kind.in_(("view", "download")))
            .group_by(UsageEvent.school_id, UsageEvent.kind)):
        (views if kind == "view" else downloads)[school_id] = count
    in_library = Resource.status.in_(VISIBLE_STATUSES)
    resources = _per_school(select(Resource.school_id, func.count(Resource.id)).where(in_library)
                            .group_by(Resource.school_id))
    added = _per_school(select(Resource.school_id, func.count(Resource.id))
                        .where(in_library, Resource.published_at >= renewed_since).group_by(Resource.school_id))
    return [{"school": school, "unit": unit, "accounts": accounts.get(school.id, 0), "users": users.get(school.id, 0),
             "views": views.get(school.id, 0), "downloads": downloads.get(school.id, 0),
             "resources": resources.get(school.id, 0), "added": added.get(school.id, 0)}
            for unit, school in schools_by_unit()]


def _per_school(stmt) -> dict[int, int]:
    return dict(db.session.execute(stmt).all())


def worker() -> Worker:
    jobs = queue()
    return Worker(pending_tasks=jobs.pending_count(), last_seen=jobs.worker_last_seen())


def processing_counts() -> dict[str, int]:
    """How many files wait for, are in, or failed background processing."""
    return dict(db.session.execute(select(Resource.processing, func.count(Resource.id))
                                   .where(Resource.processing.in_(PROCESSING_WATCHED))
                                   .group_by(Resource.processing)).all())


def latest_failures() -> list[Resource]:
    return db.session.scalars(select(Resource).where(Resource.processing == "failed")
                              .order_by(Resource.updated_at.desc()).limit(FAILURES_SHOWN)).all()


def index_lag() -> dict[str, int]:
    missing, stale, orphans = search.stale_report()
    return {"missing": len(missing), "stale": len(stale), "orphans": len(orphans)}


def disk() -> Disk:
    folder = store().root
    while not folder.exists():  # a new district stores its first file there later
        folder = folder.parent
    usage = shutil.disk_usage(folder)
    return Disk(total=usage.total, free=usage.free)


def overview() -> dict:
    now = utcnow()
    return {
        "now": now, "renewal": renewal(now), "renewal_target": RENEWAL_TARGET, "use": use(now),
        "schools": by_school(now), "database": DATABASE_NAMES.get(db.engine.dialect.name, db.engine.dialect.name),
        "worker": worker(), "processing": processing_counts(), "failures": latest_failures(), "index": index_lag(),
        "disk": disk(),
    }


class Snapshot:
    """A Prometheus collector of the page's platform and library figures, read afresh at each scrape.

    Every figure comes from the database or the queue's storage, so every app server answers alike. The search
    index's lag is left out: comparing it reads every indexed entry (most of a second on 100,000 resources),
    too much to repeat at each scrape; the page and ``reslib check`` show it.
    """

    def collect(self) -> list[Metric]:
        now = utcnow()
        running = worker()
        seen = running.last_seen
        families = [
            _gauge("worker_up", "1 if reslib worker noted it was alive within the last "
                   f"{WORKER_SILENT_AFTER.seconds // 60} minutes", int(running.running(now))),
            _gauge("worker_last_seen_timestamp_seconds", "when reslib worker last noted it was alive (0: never)",
                   seen.replace(tzinfo=UTC).timestamp() if seen else 0),
            _gauge("queue_pending_tasks", "tasks waiting in the background queue", running.pending_tasks),
        ]
        counts = processing_counts()
        families.append(_labelled("processing_resources", "resources by background processing state", "state",
                                  {state: counts.get(state, 0) for state in PROCESSING_WATCHED}))
        library = renewal(now)
        families += [
            _gauge("library_resources", "resources in the district or a school library", library.in_libraries),
            _gauge("library_resources_added_last_year", "of those, entered a library in the last 365 days",
                   library.added),
            _gauge("library_renewal_target_ratio", "the share to renew each year (seed 004: at least a tenth)",
                   RENEWAL_TARGET),
        ]
        used = use(now)
        families += [
            _labelled("usage_events_last_30_days", "resource views and downloads in the last 30 days", "kind",
                      {"view": used["views"], "download": used["downloads"]}),
            _gauge("resource_users_last_30_days", "people who viewed or downloaded a resource in the last 30 days",
                   used["users"]),
            _gauge("sign_ins_last_30_days", "people who signed in within the last 30 days", used["sign_ins"]),
        ]
        accounts = accounts_by_status()
        families.append(_labelled("accounts", "accounts by status", "status",
                                  {status: accounts.get(status, 0) for status in ACCOUNT_STATUSES}))
        space = disk()
        families += [_gauge("storage_free_bytes", "free space on the disk holding the files", space.free),
                     _gauge("storage_size_bytes", "size of the disk holding the files", space.total)]
        return families


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{METRIC_PREFIX}{name}", documentation, value=value)


def _labelled(name: str, documentation: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(f"{METRIC_PREFIX}{name}", documentation, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family
