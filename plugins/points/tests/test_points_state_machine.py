"""The points engine under random sequences of what a district does: views, plays, downloads and ratings by
anyone of anything, publications and withdrawals, rule changes, owners' accounts disabled and enabled again,
manual awards, prizes granted and taken back, retried hooks, worker restarts and time passing. After every step
the running totals must be what a recompute rebuilds from the ledger and the usage events (and the recompute
must find nothing missing), no source may be credited twice, no use may earn outside the rules (one's own
resource, staff in their role, over a daily cap, twice a day), and a contribution must be worth what the resource
is worth.

Derandomized and bounded (60 runs of 20 steps), so CI runs the same sequences every time within its budget.
The runs it found are kept shrunk by hand as plain tests (here and in test_points_recompute_agrees.py).
"""
import json
from collections import Counter
from datetime import timedelta

from flask import current_app
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (RuleBasedStateMachine, initialize, invariant, precondition, rule,
                                 run_state_machine_as_test)
from sqlalchemy import bindparam, delete, func, select

from plugins.points import earning, periods, prizes, recompute, rules, service
from plugins.points.models import PersonTerm, PointEntry, RuleVersion
from reslib.extensions import db
from reslib.models import Resource, ReviewAssignment, UsageEvent, User
from reslib.models.base import utcnow
from reslib.models.library import VISIBLE_STATUSES
from reslib.services import accounts, library, review, usage
from reslib.testing import District, add_resource

# No shrinking: a failure prints its whole run (at most stateful_step_count steps) at once, where shrinking one
# took minutes of CI.
MACHINE = settings(max_examples=60, stateful_step_count=20, deadline=None, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate], suppress_health_check=[HealthCheck.too_slow])

# Who acts: learners of both schools, staff whose use of some resources earns nothing, and one of school C.
PEOPLE = ("teacher_a", "student_a", "teacher_b", "student_b", "admin_a", "admin_b", "reviewer", "district_admin",
          "teacher_c")
VIDEO = dict(file_kind="video", file_mime="video/mp4", file_name="微课.mp4")
# (owner, title, fields, announced as published at the start); drafts wait for the publish rule.
RESOURCES = (
    ("teacher_a", "光的折射实验", {**VIDEO, "probe_json": json.dumps({"duration": 12 * 60})}, True),
    ("teacher_b", "电路微课", {**VIDEO, "probe_json": json.dumps({"duration": 95 * 60}), "grade": "excellent"},
     True),
    ("teacher_a", "勾股定理讲义", {"probe_json": json.dumps({"page_count": 30})}, True),
    ("student_b", "复习提纲", {}, False),
    ("teacher_c", "古诗朗读", {**VIDEO, "probe_json": json.dumps({"duration": 3 * 60})}, False),
)
OWNERS = tuple(sorted({owner for owner, _title, _fields, _announced in RESOURCES}))
COMMENTS = ("", "讲得很清楚", "   ", "复习时又看了一遍")
RATING = st.tuples(st.integers(1, 5), st.sampled_from(COMMENTS))  # stars and a comment (blank: none)
# Points per action and daily caps of a rule version; a nought (nothing for that action) comes up often.
ACTION_POINTS = st.fixed_dictionaries({action: st.sampled_from([0, 1, 2, 5]) for action in rules.ACTIONS})
DAILY_CAPS = st.fixed_dictionaries({action: st.sampled_from([0, 1, 3, 20]) for action in rules.ACTIONS})
people = st.sampled_from(PEOPLE)
resources = st.integers(0, len(RESOURCES) - 1)


def _empty_database() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(delete(table))
    db.session.commit()


class PointsMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        db.session.remove()
        _empty_database()
        district = District()
        district.teacher_c = district.user("teacher.c", {"teacher"}, district.school_c, identifier="T3001")
        db.session.commit()
        self.people = {name: getattr(district, name).id for name in PEOPLE}
        self.resources = []
        for owner, title, fields, announced in RESOURCES:
            resource = add_resource(self.user(owner), title=title, status="published" if announced else "draft",
                                    **fields)
            self.resources.append(resource.id)
        # The reviewer sat on the first video's panel: their plays of it are work, not learning.
        db.session.add(ReviewAssignment(resource_id=self.resources[0], reviewer_id=self.people["reviewer"]))
        db.session.commit()
        for index, (_owner, _title, _fields, announced) in enumerate(RESOURCES):
            if announced:
                library.changed(self.resource(index), "published", self.user("district_admin"))
        self.last = None  # (person, resource) of the last use
        self.away = set()  # owners' accounts disabled now
        self.disabled_ever = set()  # accounts disabled at some time: a contribution meanwhile earned nothing
        self.prizes = []  # the award dicts announced so far, as the awards plugin would send them
        self.caps_ever = {action: {rules.DEFAULT_RULES["daily_caps"][action]} for action in rules.ACTIONS}

    # --- lookups (by id each time: a worker restart leaves no object behind) -----------------------------

    def user(self, name: str) -> User:
        return db.session.get(User, self.people[name])

    def resource(self, index: int) -> Resource:
        return db.session.get(Resource, self.resources[index])

    def pick(self, who: str, which: int, again: bool) -> tuple[User | None, Resource | None]:
        """The person and the resource of a step: those drawn, or (half the time) the previous step's again, so
        that the same person uses the same resource often enough to meet dedup windows, repeats and caps.
        (None, None) when the person could not act (a disabled account cannot sign in) or the resource is not in
        a library."""
        if again and self.last is not None:
            who, which = self.last
        self.last = (who, which)
        user, resource = self.user(who), self.resource(which)
        if not user.is_active or resource.status not in VISIBLE_STATUSES:
            return None, None
        return user, resource

    # --- what people do ---------------------------------------------------------------------------------

    @rule(who=people, which=resources, again=st.booleans(), kind=st.sampled_from(["view", "download"]))
    def use(self, who, which, again, kind):
        user, resource = self.pick(who, which, again)
        if user is not None:
            usage.record(user, resource, kind)

    @rule(who=people, which=resources, again=st.booleans(),
          progress=st.lists(st.integers(1, 10).map(lambda n: n * 10), min_size=1, max_size=4))
    def play(self, who, which, again, progress):
        user, resource = self.pick(who, which, again)
        if user is not None:
            for percent in progress:
                usage.record(user, resource, "preview", percent)

    @rule(who=people, which=resources, again=st.booleans(), rating=RATING)
    def rate(self, who, which, again, rating):
        user, resource = self.pick(who, which, again)
        if user is not None:
            usage.rate(user, resource, *rating)

    @rule(who=people, which=resources, again=st.booleans(), stars=st.integers(1, 5),
          comments=st.lists(st.sampled_from(COMMENTS), min_size=1, max_size=2))
    def rate_then_comment(self, who, which, again, stars, comments):
        """Stars first (they are saved on their own), then the comment, once or twice at once (written, reworded
        or cleared)."""
        user, resource = self.pick(who, which, again)
        if user is not None:
            usage.rate(user, resource, stars)
            for comment in comments:
                usage.rate(user, resource, stars, comment)

    # --- what the district does -------------------------------------------------------------------------

    @rule(which=resources)
    def publish(self, which):
        resource = self.resource(which)
        if resource.status not in VISIBLE_STATUSES:
            resource.status = "published"
            resource.published_at = resource.published_at or utcnow()
            db.session.commit()
            library.changed(resource, "published", self.user("district_admin"))

    @rule(which=resources)
    def withdraw(self, which):
        resource = self.resource(which)
        if resource.status in VISIBLE_STATUSES:
            review.withdraw(self.user("district_admin"), resource, "版权存疑")

    @initialize(actions=ACTION_POINTS, caps=DAILY_CAPS)
    def todays_rules(self, actions, caps):
        """The district's rules as they stand this morning."""
        self.change_rules(actions, caps)

    @rule(actions=ACTION_POINTS)
    def change_points(self, actions):
        """A new version of the table from today (the rules page's default day): other points per action."""
        self.change_rules(actions, rules.version_on(periods.local_today()).rules["daily_caps"])

    @rule(caps=DAILY_CAPS)
    def change_caps(self, caps):
        """A new version of the table from today: other daily caps."""
        self.change_rules(rules.version_on(periods.local_today()).rules["actions"], caps)

    def change_rules(self, actions, caps):
        table = {**rules.version_on(periods.local_today()).rules, "actions": actions, "daily_caps": caps}
        rules.save_version(self.user("district_admin"), table, periods.local_today(), "state machine")
        for action, cap in caps.items():
            self.caps_ever[action].add(cap)

    @rule(who=st.sampled_from(OWNERS), uses=st.lists(st.tuples(people, st.integers(0, 9)), max_size=3),
          publish=st.booleans(), back=st.booleans())
    def owner_away(self, who, uses, publish, back):
        """An owner's account disabled for a while (it earns nothing meanwhile, nor do its resources share, nor
        does a resource of theirs published meanwhile): their resources waiting to be published may be published,
        others study or open them, and the account is enabled again at once or later (owner_back). A disabled
        learner cannot sign in to use anything (see pick)."""
        owner = self.user(who)
        accounts.disable(self.user("district_admin"), owner, "暂停使用")
        self.away.add(owner.id)
        self.disabled_ever.add(owner.id)
        theirs = [index for index, (name, *_rest) in enumerate(RESOURCES) if name == who]
        if publish:
            for index in theirs:
                self.publish(index)
        for learner, which in uses:
            user, resource = self.pick(learner, theirs[which % len(theirs)], again=False)
            if user is not None:
                if resource.file_kind in earning.MEDIA:
                    usage.record(user, resource, "preview", 100)
                else:
                    usage.record(user, resource, "view")
        if back:
            self.owner_back()

    @precondition(lambda self: self.away)
    @rule()
    def owner_back(self):
        for user_id in self.away:  # as the school admin does it, so that plugins hear of it
            accounts.enable(self.user("district_admin"), db.session.get(User, user_id))
        self.away = set()

    @rule(who=people.filter(lambda name: name != "district_admin"), amount=st.sampled_from([-3, 1, 5, 20]))
    def award(self, who, amount):
        service.award(self.user("district_admin"), self.user(who), amount, "课堂展示")

    @rule(number=st.integers(0, 3), level=st.sampled_from(["first", "second", "third", "other", "special"]),
          winners=st.lists(people, min_size=1, max_size=3, unique=True))
    def grant_prize(self, number, level, winners):
        key = f"awards:entry:{number}"
        if any(award["key"] == key for award in self.prizes):
            return  # an entry wins once
        award = {"key": key, "title": f"优质课评比 {number}", "level": level,
                 "people": [self.people[name] for name in winners], "at": utcnow()}
        self.prizes.append(award)
        prizes.credit(award)

    @precondition(lambda self: self.prizes)
    @rule(data=st.data())
    def revoke_prize(self, data):
        award = data.draw(st.sampled_from(self.prizes))
        if not award.get("revoked_at"):
            award["revoked_at"] = utcnow()
        prizes.credit(award)

    # --- retries, restarts, time --------------------------------------------------------------------------

    @precondition(lambda self: db.session.scalar(select(func.count()).select_from(UsageEvent)))
    @rule(latest=st.booleans(), data=st.data())
    def retry_usage(self, latest, data):
        """The worker credits an event again (a retry after a lost acknowledgement): the latest one, or any."""
        ids = db.session.scalars(select(UsageEvent.id).order_by(UsageEvent.id)).all()
        event_id = ids[-1] if latest else data.draw(st.sampled_from(ids))
        earning.credit_usage(db.session.get(UsageEvent, event_id))

    @rule(which=resources)
    def retry_settle(self, which):
        earning.settle_contribution(self.resource(which))

    @precondition(lambda self: self.prizes)
    @rule(data=st.data())
    def retry_prize(self, data):
        prizes.credit(data.draw(st.sampled_from(self.prizes)))

    @rule(forget=st.booleans())
    def restart_worker(self, forget):
        if forget:
            db.session.remove()
        else:
            db.session.expire_all()

    @rule()
    def time_passes(self):
        """Past the usage dedup window: everything so far moves back by the same span (uses, rule versions saved,
        publications, ledger entries, prizes), so that what came before what still does. Unless that would take
        something into the day before (in the first half hour after midnight): then time stands still."""
        window = timedelta(minutes=current_app.config["USAGE_DEDUP_MINUTES"] + 1)
        stamped = [(model.__table__, column) for model, column in ((UsageEvent, "at"), (RuleVersion, "created_at"),
                                                                   (Resource, "published_at"),
                                                                   (PointEntry, "occurred_at"))]
        rows = {(table, column): db.session.execute(select(table.c.id, table.c[column])
                                                    .where(table.c[column].is_not(None))).all()
                for table, column in stamped}
        moments = [at for found in rows.values() for _id, at in found]
        moments += [award[key] for award in self.prizes for key in ("at", "revoked_at") if award.get(key)]
        if any(periods.local_day(at - window) != periods.local_day(at) for at in moments):
            return
        for (table, column), found in rows.items():  # append-only to the app: only time itself moves them
            if found:
                db.session.execute(table.update().where(table.c.id == bindparam("row_id"))
                                   .values({column: bindparam("moved")}),
                                   [{"row_id": row_id, "moved": at - window} for row_id, at in found])
        for award in self.prizes:
            for key in ("at", "revoked_at"):
                if award.get(key):
                    award[key] -= window
        db.session.commit()
        db.session.expire_all()

    # --- what must hold after every step ----------------------------------------------------------------

    @invariant()
    def totals_are_what_a_recompute_rebuilds(self):
        result = recompute.recompute(check=True)
        assert result.differences == [], result.differences[:10]

    @invariant()
    def no_source_is_credited_twice(self):
        twice = db.session.execute(select(PointEntry.source_key, func.count()).group_by(PointEntry.source_key)
                                   .having(func.count() > 1)).all()
        assert twice == []
        ledger = dict(db.session.execute(select(PointEntry.user_id, func.sum(PointEntry.amount))
                                         .group_by(PointEntry.user_id)).all())
        totals = dict(db.session.execute(select(PersonTerm.user_id, func.sum(PersonTerm.points))
                                         .group_by(PersonTerm.user_id)).all())
        assert {user: n for user, n in ledger.items() if n} == {user: n for user, n in totals.items() if n}

    @invariant()
    def each_use_earns_once_within_the_caps_and_never_for_ones_own(self):
        entries = db.session.execute(select(PointEntry.user_id, PointEntry.kind, PointEntry.lineage_id,
                                            PointEntry.day)
                                     .where(PointEntry.kind.in_(earning.LEARNING_ACTIONS))).all()
        owners = dict(db.session.execute(select(Resource.lineage_id, Resource.owner_id)).all())
        schools = dict(db.session.execute(select(Resource.lineage_id, Resource.school_id)).all())
        first_video = self.resource(0).lineage_id
        school_admins = {self.user("admin_a").school_id: self.people["admin_a"],
                         self.user("admin_b").school_id: self.people["admin_b"]}
        for user_id, _kind, lineage_id, _day in entries:
            assert user_id not in (owners[lineage_id], self.people["district_admin"])
            assert user_id != school_admins.get(schools[lineage_id])
            assert (user_id, lineage_id) != (self.people["reviewer"], first_video)
        per_day = Counter((user_id, kind, day) for user_id, kind, _lineage, day in entries)
        for (_user, kind, _day), n in per_day.items():
            assert n <= max(self.caps_ever[kind])
        learnt = Counter((user_id, kind, lineage_id, day) for user_id, kind, lineage_id, day in entries)
        assert max(learnt.values(), default=1) == 1  # the repeat interval here is one day
        rates = Counter((user_id, lineage_id) for user_id, kind, lineage_id, _day in entries if kind == "rate")
        assert max(rates.values(), default=1) == 1  # a comment earns once per resource, ever

    @invariant()
    def a_contribution_is_worth_the_resource(self):
        credited = dict(db.session.execute(select(PointEntry.lineage_id, func.sum(PointEntry.amount))
                                           .where(PointEntry.kind == "contribute")
                                           .group_by(PointEntry.lineage_id)).all())
        for index in range(len(RESOURCES)):
            resource = self.resource(index)
            if resource.status in VISIBLE_STATUSES:
                entered = resource.published_at
                worth = {rules.value_of(resource, rules.version_on(periods.local_day(entered), entered).rules).points}
                if resource.owner_id in self.disabled_ever:
                    worth.add(0)  # published while its owner was disabled: nothing until settled again
            else:
                worth = {0}  # never in a library, or withdrawn: all taken back
            assert credited.get(resource.lineage_id, 0) in worth, (resource.title, resource.status)


def test_points_hold_under_any_sequence_of_events(app):
    run_state_machine_as_test(PointsMachine, settings=MACHINE)


# --- runs the machine found, shrunk by hand (the others are in test_points_recompute_agrees.py) ------------

def test_an_owner_enabled_again_agrees_with_a_recompute(district):
    video = add_resource(district.teacher_a, title="光的折射实验", file_kind="video", file_mime="video/mp4",
                         file_name="微课.mp4", probe_json=json.dumps({"duration": 12 * 60}))
    library.changed(video, "published", district.district_admin)
    district.teacher_a.status = "disabled"
    db.session.commit()
    usage.record(district.student_b, video, "preview", 100)  # a study, and no share for a disabled owner
    district.teacher_a.status = "active"
    db.session.commit()
    assert recompute.recompute(check=True).differences == []


def test_a_resource_published_while_its_owner_was_disabled_agrees_with_a_recompute(district):
    accounts.disable(district.district_admin, district.teacher_a, "调离")
    document = add_resource(district.teacher_a, title="勾股定理讲义")
    library.changed(document, "published", district.district_admin)  # nothing to a disabled owner…
    assert [entry.kind for entry in db.session.scalars(select(PointEntry))] == []
    accounts.enable(district.district_admin, district.teacher_a)  # …and its value once enabled again
    assert [entry.kind for entry in db.session.scalars(select(PointEntry))] == ["contribute"]
    assert recompute.recompute(check=True).differences == []
