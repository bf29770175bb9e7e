"""``reslib points recompute``: credit every source missing from the ledger, then rebuild the totals from the
ledger and the usage events, in bulk and in memory (a district's million events in well under a minute), with the
same decisions as the live path (earning)."""
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import delete, func, insert, select

from plugins.points import earning, periods, prizes
from plugins.points import rules as rule_table
from plugins.points.models import CountedEvent, LineageTerm, PersonTerm, PointEntry, SchoolDay
from reslib.extensions import db
from reslib.models import Rating, Resource, ReviewAssignment, UsageEvent, User
from reslib.models.accounts import UserRole
from reslib.models.base import utcnow
from reslib.models.library import VISIBLE_STATUSES


@dataclass
class Recompute:
    added: dict = field(default_factory=lambda: defaultdict(int))  # kind: entries credited that were missing
    differences: list = field(default_factory=list)  # what the stored totals said against the rebuilt ones


def recompute(*, check: bool = False) -> Recompute:
    """Credit every source missing from the ledger, in time order (events while the plugin was off, say), then
    rebuild the totals from the ledger and the usage events. With ``check`` nothing is kept: the result says what
    would have been added and where the stored totals differ."""
    result = Recompute()
    first_event = db.session.scalar(select(func.min(UsageEvent.at)))
    first_entry = db.session.scalar(select(func.min(PointEntry.occurred_at)))
    starts = [moment for moment in (first_event, first_entry) if moment is not None]
    periods.ensure_terms(periods.local_day(min(starts)) if starts else periods.local_today(), periods.local_today())
    new = _missing_usage_entries() + _missing_contributions() + _missing_prizes()
    for entry in new:
        result.added[entry["kind"]] += 1
    if new:
        db.session.execute(insert(PointEntry), new)
    before = _stored_totals()
    rebuild_totals()
    after = _stored_totals()
    result.differences = _differences(before, after) if check else []
    if check:
        if new:
            result.differences.insert(0, ("ledger", "missing entries", dict(result.added)))
        db.session.rollback()
    else:
        db.session.commit()
    return result


def _missing_usage_entries() -> list[dict]:
    """What the events the live path never decided on earn (those while the plugin was off, or whose crediting
    failed). An event it counted keeps its decision: deciding it again with what holds now (a comment added since,
    an account enabled again) could credit what the rules in effect at the time did not."""
    people = {}
    admins = defaultdict(set)
    for user_id, role in db.session.execute(select(UserRole.user_id, UserRole.role)):
        admins[role].add(user_id)
    for user_id, status, school_id in db.session.execute(select(User.id, User.status, User.school_id)):
        people[user_id] = earning.Person(id=user_id, active=status == "active", school_id=school_id,
                                         district_admin=user_id in admins["district_admin"],
                                         school_admin=user_id in admins["school_admin"])
    panels = defaultdict(set)
    for lineage_id, reviewer_id in db.session.execute(select(Resource.lineage_id, ReviewAssignment.reviewer_id)
                                                      .join(ReviewAssignment)):
        panels[lineage_id].add(reviewer_id)
    resources = {}
    for row in db.session.execute(select(Resource.id, Resource.lineage_id, Resource.owner_id, Resource.school_id,
                                         Resource.file_kind, Resource.title)):
        resources[row.id] = earning.Lineage(id=row.lineage_id, owner_id=row.owner_id, school_id=row.school_id,
                                    media=row.file_kind in earning.MEDIA, title=row.title,
                                    panel=frozenset(panels.get(row.lineage_id, ())))
    commented = set(db.session.execute(select(Rating.user_id, Rating.lineage_id).where(Rating.comment != "")))
    versions = rule_table.VersionsOnDays()
    book = earning.MemoryBook()
    new = []
    events = db.session.execute(select(UsageEvent.id, UsageEvent.resource_id, UsageEvent.user_id,
                                       UsageEvent.school_id, UsageEvent.kind, UsageEvent.progress, UsageEvent.at)
                                .where(~select(CountedEvent.event_id).where(CountedEvent.event_id == UsageEvent.id)
                                       .exists())
                                .order_by(UsageEvent.at, UsageEvent.id)).yield_per(20_000)
    for event in events:
        lineage = resources.get(event.resource_id)
        learner = people.get(event.user_id)
        if lineage is None or learner is None:
            continue
        version = versions.on(periods.local_day(event.at), event.at)
        new += earning.usage_entries(event, learner, people.get(lineage.owner_id), lineage, version,
                             versions.rules(version), (event.user_id, lineage.id) in commented, book)
    return new


def _missing_contributions() -> list[dict]:
    credited = {lineage_id: (total, n) for lineage_id, total, n in db.session.execute(
        select(PointEntry.lineage_id, func.sum(PointEntry.amount), func.count())
        .where(PointEntry.kind == "contribute").group_by(PointEntry.lineage_id))}
    in_library = set(db.session.scalars(select(Resource.lineage_id).where(Resource.status.in_(VISIBLE_STATUSES))))
    now = utcnow()
    new = []
    for lineage_id in sorted(in_library | set(credited)):
        total, n = credited.get(lineage_id, (0, 0))
        entry = earning.contribution_entry(lineage_id, total, n, now)
        if entry is not None:
            new.append(entry)
    return new


def _missing_prizes() -> list[dict]:
    book = earning.MemoryBook()
    return [entry for entry in prizes.entries_for(prizes.granted()) if not book.seen(entry["source_key"])]


def rebuild_totals() -> None:
    """Every total from the ledger and the usage events (after a term's days moved, say); the caller commits."""
    for model in (PersonTerm, SchoolDay, LineageTerm, CountedEvent):
        db.session.execute(delete(model))
    db.session.execute(insert(CountedEvent).from_select(["event_id"], select(UsageEvent.id)))
    db.session.flush()
    people, schools, lineages = defaultdict(lambda: [None, 0, 0, 0, 0]), defaultdict(lambda: [0, 0, 0]), {}
    for term in periods.terms():
        start, end = term.bounds()
        for user_id, school_id, kind, n in db.session.execute(
                select(UsageEvent.user_id, UsageEvent.school_id, UsageEvent.kind, func.count())
                .where(UsageEvent.at >= start, UsageEvent.at < end, UsageEvent.kind.in_(["view", "download"]))
                .group_by(UsageEvent.user_id, UsageEvent.school_id, UsageEvent.kind)):
            row = people[(user_id, term.id)]
            row[0] = school_id
            row[3] += n
            row[4] += n if kind == "view" else 0
        for user_id, school_id, kind, points in db.session.execute(
                select(PointEntry.user_id, PointEntry.school_id, PointEntry.kind, func.sum(PointEntry.amount))
                .where(PointEntry.occurred_at >= start, PointEntry.occurred_at < end)
                .group_by(PointEntry.user_id, PointEntry.school_id, PointEntry.kind)):
            row = people[(user_id, term.id)]
            row[0] = row[0] if row[0] is not None else school_id
            row[1] += points
            row[2] += points if kind == "contribute" else 0
        lineage_school = dict(db.session.execute(select(Resource.lineage_id, Resource.school_id)
                                                 .where(Resource.id == Resource.lineage_id)).all())
        for lineage_id, kind, n in db.session.execute(
                select(UsageEvent.lineage_id, UsageEvent.kind, func.count())
                .where(UsageEvent.at >= start, UsageEvent.at < end, UsageEvent.kind.in_(["view", "download"]))
                .group_by(UsageEvent.lineage_id, UsageEvent.kind)):
            row = lineages.setdefault((lineage_id, term.id), [lineage_school.get(lineage_id), 0, 0, 0])
            row[1] += n
            row[2] += n if kind == "view" else 0
        for lineage_id, n in db.session.execute(
                select(PointEntry.lineage_id, func.count())
                .where(PointEntry.occurred_at >= start, PointEntry.occurred_at < end, PointEntry.kind == "study")
                .group_by(PointEntry.lineage_id)):
            row = lineages.setdefault((lineage_id, term.id), [lineage_school.get(lineage_id), 0, 0, 0])
            row[3] += n
    usage = select(UsageEvent.school_id, UsageEvent.at, UsageEvent.kind).where(
        UsageEvent.kind.in_(["view", "download"]), UsageEvent.school_id.is_not(None))
    for school_id, at, kind in db.session.execute(usage).yield_per(50_000):  # local days: counted here, as the
        row = schools[(school_id, periods.local_day(at))]                    # databases spell time zones apart
        row[1] += 1
        row[2] += kind == "view"
    for school_id, day, points in db.session.execute(
            select(PointEntry.school_id, PointEntry.day, func.sum(PointEntry.amount))
            .where(PointEntry.school_id.is_not(None)).group_by(PointEntry.school_id, PointEntry.day)):
        schools[(school_id, day)][0] += points
    _insert_all(PersonTerm, [{"user_id": u, "term_id": t, "school_id": s, "points": p, "contributed": c, "uses": n,
                              "visits": v} for (u, t), (s, p, c, n, v) in people.items()])
    _insert_all(SchoolDay, [{"school_id": s, "day": d, "points": p, "uses": n, "visits": v}
                            for (s, d), (p, n, v) in schools.items()])
    _insert_all(LineageTerm, [{"lineage_id": line, "term_id": t, "school_id": s, "uses": n, "visits": v,
                               "studies": k} for (line, t), (s, n, v, k) in lineages.items()])


def _insert_all(model, rows: list[dict]) -> None:
    for start in range(0, len(rows), 10_000):
        db.session.execute(insert(model), rows[start:start + 10_000])


def _stored_totals() -> dict:
    return {
        "person_term": {(r.user_id, r.term_id): (r.school_id, r.points, r.contributed, r.uses, r.visits)
                        for r in db.session.scalars(select(PersonTerm))},
        "school_day": {(r.school_id, r.day): (r.points, r.uses, r.visits) for r in db.session.scalars(select(SchoolDay))},
        "lineage_term": {(r.lineage_id, r.term_id): (r.school_id, r.uses, r.visits, r.studies)
                         for r in db.session.scalars(select(LineageTerm))},
    }


def _differences(before: dict, after: dict) -> list[tuple]:
    found = []
    for table, rows in after.items():
        stored = before[table]
        for key in sorted(set(rows) | set(stored), key=str):
            if rows.get(key) != stored.get(key):
                found.append((table, key, {"stored": stored.get(key), "recomputed": rows.get(key)}))
    return found
