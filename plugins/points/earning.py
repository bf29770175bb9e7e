"""Earning: which entries a usage event, a resource's change or a prize writes into the ledger, and the totals
they move.

The same decisions serve a live event (``credit_usage``: one event, looked up in the database) and a recompute
(``recompute``: every event in time order, looked up in memory), so what a recompute would write is what the live
path wrote. A source credits at most once: each entry's ``source_key`` is unique, so a retried or concurrent
crediting of the same source fails at the database and writes nothing.

Who earns what, as the rules say (see rules.DEFAULT_RULES):
- study: a video or audio played past the study threshold (the player reports the share actually played);
  view: any other resource's page opened; download; rate: a rating with a comment, once per resource;
- share: the owner, each time another person studies their resource;
- the same action on the same resource earns once per ``repeat_days``; each action at most ``daily_caps`` times a
  local day;
- nothing for using one's own resource; nothing for staff acting in their role (district admins, the resource's
  school's admins, its district panel); nothing for a disabled account;
- contribute: a resource in a library is worth its value to its owner; a change of value (graded, superseded by a
  new version) credits or takes back the difference, and a withdrawal or rejection takes it all back. Learners
  keep what they earned from it.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from plugins.points import periods
from plugins.points import rules as rule_table
from plugins.points.models import CountedEvent, LineageTerm, PersonTerm, PointEntry, ResourceValue, SchoolDay
from reslib.extensions import db
from reslib.models import Rating, Resource, ReviewAssignment, UsageEvent, User
from reslib.models.base import utcnow
from reslib.models.library import VISIBLE_STATUSES

MEDIA = ("video", "audio")
LEARNING_ACTIONS = ("study", "view", "download", "rate")


# --- what is known about the people and the resource of an event ----------------------------------

@dataclass(frozen=True)
class Person:
    id: int
    active: bool
    school_id: int | None
    district_admin: bool
    school_admin: bool


@dataclass(frozen=True)
class Lineage:
    id: int
    owner_id: int
    school_id: int | None
    media: bool
    title: str
    panel: frozenset = field(default_factory=frozenset)  # reviewers assigned to any of its versions


def _in_role(person: Person, lineage: Lineage) -> bool:
    """Staff acting in their role are not learners of it."""
    return (person.district_admin or (person.school_admin and person.school_id == lineage.school_id)
            or person.id in lineage.panel)


def _rules_key(action: str, user_id: int, lineage_id: int, day: date, rules: dict) -> str:
    if action == "rate":
        return f"rate:{user_id}:{lineage_id}"
    return f"{action}:{user_id}:{lineage_id}:{day.toordinal() // rules['repeat_days']}"


def action_of(event_kind: str, progress: int | None, lineage: Lineage, rules: dict,
              commented: bool) -> str | None:
    if event_kind == "preview":
        return "study" if lineage.media and (progress or 0) >= rules["study_threshold"] else None
    if event_kind == "view":
        return None if lineage.media else "view"
    if event_kind == "download":
        return "download"
    if event_kind == "rate":
        return "rate" if commented else None
    return None


class Book:
    """What has been credited: which sources, and how often each person did each action on each day."""

    def seen(self, key: str) -> bool:
        raise NotImplementedError

    def count(self, user_id: int, action: str, day: date) -> int:
        raise NotImplementedError

    def note(self, entry: dict) -> None:
        """Remember an entry about to be written (so a second decision in the same batch sees it)."""

    def allows(self, key: str, user_id: int, action: str, day: date, rules: dict) -> bool:
        return (rules["actions"][action] > 0 and not self.seen(key)
                and self.count(user_id, action, day) < rules["daily_caps"][action])


class DatabaseBook(Book):
    def __init__(self):
        self.written = []

    def seen(self, key):
        return (any(entry["source_key"] == key for entry in self.written)
                or db.session.scalar(select(PointEntry.id).where(PointEntry.source_key == key)) is not None)

    def count(self, user_id, action, day):
        stored = db.session.scalar(select(func.count()).select_from(PointEntry).where(
            PointEntry.user_id == user_id, PointEntry.day == day, PointEntry.kind == action))
        return stored + sum(1 for e in self.written if (e["user_id"], e["kind"], e["day"]) == (user_id, action, day))

    def note(self, entry):
        self.written.append(entry)


class MemoryBook(Book):
    def __init__(self):
        self.keys = set(db.session.scalars(select(PointEntry.source_key)))
        self.counts = defaultdict(int)
        rows = db.session.execute(select(PointEntry.user_id, PointEntry.kind, PointEntry.day, func.count())
                                  .where(PointEntry.kind.in_([*LEARNING_ACTIONS, "share"]))
                                  .group_by(PointEntry.user_id, PointEntry.kind, PointEntry.day))
        for user_id, kind, day, n in rows:
            self.counts[(user_id, kind, day)] = n

    def seen(self, key):
        return key in self.keys

    def count(self, user_id, action, day):
        return self.counts[(user_id, action, day)]

    def note(self, entry):
        self.keys.add(entry["source_key"])
        self.counts[(entry["user_id"], entry["kind"], entry["day"])] += 1


def new_entry(user_id, amount, kind, key, version_id, lineage_id, school_id, at: datetime, reason: str) -> dict:
    """A ledger row; an automatic entry's reason is the title of what earned it (its kind says how, in the
    reader's language)."""
    return {"user_id": user_id, "amount": amount, "kind": kind, "source_key": key, "rule_version_id": version_id,
            "lineage_id": lineage_id, "school_id": school_id, "occurred_at": at, "day": periods.local_day(at),
            "reason": reason[:255], "created_at": utcnow()}


def usage_entries(event, learner: Person, owner: Person | None, lineage: Lineage, version, rules: dict,
                  commented: bool, book: Book) -> list[dict]:
    """The entries one usage event earns (none, the learner's, the owner's share, or both)."""
    action = action_of(event.kind, event.progress, lineage, rules, commented)
    if action is None or learner.id == lineage.owner_id or _in_role(learner, lineage):
        return []
    day = periods.local_day(event.at)
    found = []
    key = _rules_key(action, learner.id, lineage.id, day, rules)
    if learner.active and book.allows(key, learner.id, action, day, rules):
        found.append(new_entry(learner.id, rules["actions"][action], action, key, version.id, lineage.id,
                            event.school_id, event.at, lineage.title))
        book.note(found[-1])
    if action == "study" and owner is not None and owner.active:
        share_key = "share:" + key.removeprefix("study:")
        if book.allows(share_key, owner.id, "share", day, rules):
            found.append(new_entry(owner.id, rules["actions"]["share"], "share", share_key, version.id, lineage.id,
                                owner.school_id, event.at, lineage.title))
            book.note(found[-1])
    return found


# --- the live path ---------------------------------------------------------------------------------

def person(user_id: int) -> Person | None:
    user = db.session.get(User, user_id)
    if user is None:
        return None
    return Person(id=user.id, active=user.is_active, school_id=user.school_id,
                  district_admin=user.has_role("district_admin"), school_admin=user.has_role("school_admin"))


def lineage_of(resource: Resource) -> Lineage:
    panel = db.session.scalars(select(ReviewAssignment.reviewer_id).join(Resource)
                               .where(Resource.lineage_id == resource.lineage_id))
    return Lineage(id=resource.lineage_id, owner_id=resource.owner_id, school_id=resource.school_id,
                   media=resource.file_kind in MEDIA, title=resource.title, panel=frozenset(panel))


def credit_usage(event: UsageEvent) -> list[dict]:
    """Credit one committed usage event and move the totals; commits. Returns the entries written."""
    resource = db.session.get(Resource, event.resource_id)
    learner = person(event.user_id)
    if resource is None or learner is None:
        return []
    lineage = lineage_of(resource)
    version = rule_table.version_on(periods.local_day(event.at), event.at)
    rules = version.rules
    commented = event.kind == "rate" and bool(db.session.scalar(select(Rating.comment).where(
        Rating.lineage_id == lineage.id, Rating.user_id == learner.id)))
    entries = usage_entries(event, learner, person(lineage.owner_id), lineage, version, rules, commented,
                            DatabaseBook())
    term = periods.term_on(periods.local_day(event.at))
    written = [entry for entry in entries if _write(entry)]
    _count_use(event, term, lineage, written)
    for entry in written:
        _add_points(entry, term)
    db.session.commit()
    return written


def _write(entry: dict) -> bool:
    """Insert the entry unless its source is already in the ledger (a retry, or another worker first)."""
    try:
        with db.session.begin_nested():
            db.session.execute(insert(PointEntry), [entry])
    except IntegrityError:
        return False
    return True


def _upsert(model, keys: dict, sets: dict, adds: dict) -> None:
    """Add ``adds`` to the row at ``keys`` (created with them if missing) and set ``sets`` on it."""
    table = model.__table__
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(table).values(**keys, **sets, **adds)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={**sets, **{name: table.c[name] + stmt.excluded[name] for name in adds}})
    db.session.execute(stmt)


def _first_count(event_id: int) -> bool:
    """Mark the event counted; False if it already was (a retry)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT DO NOTHING
    stmt = (dialect.insert(CountedEvent.__table__).values(event_id=event_id).on_conflict_do_nothing()
            .returning(CountedEvent.event_id))
    return db.session.execute(stmt).scalar() is not None


def _count_use(event, term, lineage: Lineage, written: list[dict]) -> None:
    if not _first_count(event.id):
        return
    uses = int(event.kind in ("view", "download"))
    visits = int(event.kind == "view")
    studies = sum(1 for entry in written if entry["kind"] == "study")
    if uses:
        _upsert(PersonTerm, {"user_id": event.user_id, "term_id": term.id}, {"school_id": event.school_id},
                {"uses": uses, "visits": visits, "points": 0, "contributed": 0})
        if event.school_id is not None:
            _upsert(SchoolDay, {"school_id": event.school_id, "day": periods.local_day(event.at)}, {},
                    {"uses": uses, "visits": visits, "points": 0})
    if uses or studies:
        _upsert(LineageTerm, {"lineage_id": lineage.id, "term_id": term.id}, {"school_id": lineage.school_id},
                {"uses": uses, "visits": visits, "studies": studies})


def _add_points(entry: dict, term) -> None:
    contributed = entry["amount"] if entry["kind"] == "contribute" else 0
    _upsert(PersonTerm, {"user_id": entry["user_id"], "term_id": term.id}, {"school_id": entry["school_id"]},
            {"points": entry["amount"], "contributed": contributed, "uses": 0, "visits": 0})
    if entry["school_id"] is not None:
        _upsert(SchoolDay, {"school_id": entry["school_id"], "day": entry["day"]}, {},
                {"points": entry["amount"], "uses": 0, "visits": 0})


def write_entry(entry: dict) -> bool:
    """Write one entry made elsewhere (a manual award, a prize) and move the totals; the caller commits."""
    if not _write(entry):
        return False
    _add_points(entry, periods.term_on(entry["day"]))
    return True


# --- contributions -------------------------------------------------------------------------------

def library_version(lineage_id: int) -> Resource | None:
    """The lineage's version in a library, if one is."""
    return db.session.scalar(select(Resource).where(Resource.lineage_id == lineage_id,
                                                    Resource.status.in_(VISIBLE_STATUSES))
                             .order_by(Resource.id.desc()).limit(1))


def owned_in_library(user) -> list[Resource]:
    """The person's resources in a library, one version of each."""
    return list(db.session.scalars(select(Resource).where(Resource.owner_id == user.id,
                                                          Resource.status.in_(VISIBLE_STATUSES))))


def store_value(resource: Resource) -> ResourceValue:
    """Compute and keep the resource's value under today's rules, for its page; the caller commits."""
    version = rule_table.version_on(periods.local_today(), utcnow())
    value = rule_table.value_of(resource, version.rules)
    row = db.session.get(ResourceValue, resource.id) or ResourceValue(resource_id=resource.id)
    row.value, row.explanation_json, row.rule_version_id = value.points, rule_table.dump(value.to_dict()), version.id
    db.session.add(row)
    return row


def contribution_entry(lineage_id: int, credited: int, entries_so_far: int, now: datetime) -> dict | None:
    """The entry that brings the owner's contribution for the lineage to what it is worth now, if any."""
    current = library_version(lineage_id)
    if current is not None:
        entered = current.published_at or now
        version = rule_table.version_on(periods.local_day(entered), entered)
        target = rule_table.value_of(current, version.rules).points
    else:
        version, target = None, 0
    delta = target - credited
    if delta == 0:
        return None
    first = db.session.scalar(select(Resource).where(Resource.lineage_id == lineage_id).order_by(Resource.id)
                              .limit(1))
    owner = db.session.get(User, first.owner_id)
    if delta > 0 and not owner.is_active:
        return None
    at = (current.published_at or now) if current is not None and credited == 0 else now
    version = version or rule_table.version_on(periods.local_day(now), now)
    return new_entry(owner.id, delta, "contribute", f"contribute:{lineage_id}:{entries_so_far + 1}", version.id,
                  lineage_id, owner.school_id, at, (current or first).title)


def settle_contribution(resource: Resource) -> PointEntry | None:
    """After a change to the resource: credit or take back the difference to its value; commits."""
    store_value(resource)
    credited, entries_so_far = db.session.execute(
        select(func.coalesce(func.sum(PointEntry.amount), 0), func.count())
        .where(PointEntry.kind == "contribute", PointEntry.lineage_id == resource.lineage_id)).one()
    entry = contribution_entry(resource.lineage_id, credited, entries_so_far, utcnow())
    if entry is not None:
        write_entry(entry)
    db.session.commit()
    return entry
