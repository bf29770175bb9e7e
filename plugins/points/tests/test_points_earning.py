"""Earning: uses, shares, contributions and prizes credited by the rules in effect, once per source, with the
caps and exclusions; and a recompute that credits what was missed and agrees with the running totals."""
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from plugins.points import earning, periods, prizes, recompute, rules
from plugins.points.models import LineageTerm, PersonTerm, PointEntry, ResourceValue, RuleVersion, SchoolDay
from reslib.extensions import db
from reslib.models import ReviewAssignment, UsageEvent
from reslib.models.base import utcnow
from reslib.services import library, review, usage
from reslib.testing import add_resource, make_test_app

VIDEO = dict(file_kind="video", file_mime="video/mp4", file_name="微课.mp4",
             probe_json=json.dumps({"duration": 12 * 60}))


def ledger(user=None, kind=None) -> list[tuple[str, int]]:
    stmt = select(PointEntry.kind, PointEntry.amount).order_by(PointEntry.id)
    if user is not None:
        stmt = stmt.where(PointEntry.user_id == user.id)
    if kind is not None:
        stmt = stmt.where(PointEntry.kind == kind)
    return [tuple(row) for row in db.session.execute(stmt)]


def balance(user) -> int:
    return db.session.scalar(select(func.sum(PersonTerm.points)).where(PersonTerm.user_id == user.id)) or 0


def play(user, resource, *percents):
    for percent in percents:
        usage.record(user, resource, "preview", percent)


def set_rules(**changes) -> RuleVersion:
    """A new version of the rules in effect from today (only what is named changes)."""
    table = {**rules.first_version().rules, **changes}
    version = RuleVersion(effective_from=periods.local_today(), rules_json=rules.dump(rules.check(table)))
    db.session.add(version)
    db.session.commit()
    return version


@pytest.fixture
def video(district):
    return add_resource(district.teacher_a, title="光的折射实验", **VIDEO)


@pytest.fixture
def document(district):
    return add_resource(district.teacher_a, title="勾股定理讲义")


def test_playing_a_video_past_the_threshold_earns_a_study_and_the_owner_a_share(district, video):
    play(district.student_b, video, 10, 20, 30, 40, 50)
    assert ledger() == []  # half of it played is not studying it
    play(district.student_b, video, 60, 70, 100)
    assert ledger(district.student_b) == [("study", 2)]  # once, however far past the threshold
    assert ledger(district.teacher_a) == [("share", 1)]
    assert balance(district.student_b) == 2 and balance(district.teacher_a) == 1
    assert db.session.get(LineageTerm, (video.lineage_id, periods.current_term().id)).studies == 1


def test_viewing_a_document_earns_but_opening_a_videos_page_does_not(district, video, document):
    usage.record(district.student_b, document, "view")
    usage.record(district.student_b, video, "view")
    usage.record(district.student_b, video, "download")
    assert ledger(district.student_b) == [("view", 1), ("download", 1)]
    person = db.session.get(PersonTerm, (district.student_b.id, periods.current_term().id))
    assert (person.uses, person.visits, person.points, person.school_id) == (3, 2, 2, district.school_b.id)


def test_the_same_use_of_the_same_resource_earns_once_a_day(app, district, document):
    usage.record(district.student_b, document, "view")
    db.session.execute(update(UsageEvent).values(at=UsageEvent.at - timedelta(hours=2)))  # past the dedup window
    db.session.commit()
    assert usage.record(district.student_b, document, "view") is not None  # a use counted again…
    assert ledger(district.student_b) == [("view", 1)]  # …but not credited again the same day
    assert db.session.get(PersonTerm, (district.student_b.id, periods.current_term().id)).visits == 2


def test_a_comment_earns_once_a_bare_rating_nothing(district, document):
    usage.rate(district.student_b, document, 5)
    assert ledger(district.student_b, "rate") == []
    usage.rate(district.student_b, document, 4, "讲得很清楚")
    db.session.execute(update(UsageEvent).values(at=UsageEvent.at - timedelta(days=2)))
    db.session.commit()
    usage.rate(district.student_b, document, 5, "复习时又看了一遍")
    assert ledger(district.student_b, "rate") == [("rate", 1)]


def test_no_points_for_ones_own_resource_nor_for_staff_in_their_role(district, video):
    admin_c = district.user("admin.c", {"school_admin", "teacher"}, district.school_c)
    db.session.add(ReviewAssignment(resource_id=video.id, reviewer_id=district.reviewer.id))
    db.session.commit()
    for user in (district.teacher_a, district.district_admin, district.admin_a, district.reviewer):
        play(user, video, 100)
    assert ledger() == []
    play(admin_c, video, 100)  # another school's admin learning from it is a learner
    assert ledger(admin_c) == [("study", 2)]


def test_a_disabled_account_earns_nothing_and_its_resources_share_nothing(district, video):
    district.teacher_a.status = "disabled"
    db.session.commit()
    play(district.student_b, video, 100)
    assert ledger(district.teacher_a) == [] and ledger(district.student_b) == [("study", 2)]
    earning.credit_usage(db.session.scalar(select(UsageEvent).limit(1)))  # the worker again: nothing twice
    assert ledger(district.student_b) == [("study", 2)]


def test_daily_caps_hold_per_action(district):
    set_rules(daily_caps={**rules.DEFAULT_RULES["daily_caps"], "view": 2})
    for n in range(4):
        usage.record(district.student_b, add_resource(district.teacher_a, title=f"讲义{n}"), "view")
    assert ledger(district.student_b) == [("view", 1), ("view", 1)]


def test_a_rule_change_applies_from_its_day_and_entries_name_their_version(district, document):
    first = rules.first_version()
    usage.record(district.student_b, document, "view")
    later = RuleVersion(effective_from=periods.local_today() + timedelta(days=1), rules_json=rules.dump(
        {**first.rules, "actions": {**first.rules["actions"], "view": 5}}))
    db.session.add(later)
    db.session.commit()
    usage.record(district.student_a, add_resource(district.teacher_b, title="讲义"), "view")
    assert ledger() == [("view", 1), ("view", 1)]  # tomorrow's rule is not today's
    assert {entry.rule_version_id for entry in db.session.scalars(select(PointEntry))} == {first.id}
    assert rules.version_on(periods.local_today() + timedelta(days=1)).id == later.id


def test_a_resource_is_worth_its_base_size_and_quality(app, district):
    table = rules.DEFAULT_RULES
    resource = add_resource(district.teacher_a, title="电路微课", grade="excellent", **VIDEO)
    value = rules.value_of(resource, table)
    assert (value.base, value.size, value.unit, value.size_factor, value.quality_factor) == (
        10, 12.0, "minutes", 1.2, 2.0)
    assert value.points == 24  # 10 × 1.2 × 2
    long = add_resource(district.teacher_a, title="长视频", **{**VIDEO, "probe_json": json.dumps({"duration": 7200})})
    assert rules.value_of(long, table).size_factor == 3  # held at the cap
    link = add_resource(district.teacher_a, title="链接", file_kind=None, file_sha256=None, link_url="https://x.cn/")
    assert rules.value_of(link, table).points == 2
    pdf = add_resource(district.teacher_a, title="讲义", probe_json=json.dumps({"page_count": 4}))
    assert rules.value_of(pdf, table).size_factor == 0.5  # 4 pages of 20: held at the floor


def test_publishing_credits_the_value_and_a_withdrawal_takes_it_back(district, video):
    library.changed(video, "published", district.district_admin)
    value = db.session.get(ResourceValue, video.id).value
    assert ledger(district.teacher_a) == [("contribute", value)]
    play(district.student_b, video, 100)
    review.withdraw(district.district_admin, video, "版权存疑")
    assert ledger(district.teacher_a) == [("contribute", value), ("share", 1), ("contribute", -value)]
    assert ledger(district.student_b) == [("study", 2)]  # learners keep theirs
    library.changed(video, "withdrawn", district.district_admin)  # told twice: nothing more
    assert len(ledger(district.teacher_a)) == 3


def test_a_grade_changes_the_value_by_the_difference(district, video):
    library.changed(video, "published", district.district_admin)
    before = db.session.get(ResourceValue, video.id).value
    video.grade = "excellent"
    db.session.commit()
    library.changed(video, "scored", district.district_admin)
    after = db.session.get(ResourceValue, video.id).value
    assert after == before * 2
    assert ledger(district.teacher_a) == [("contribute", before), ("contribute", after - before)]


def test_the_resource_page_shows_its_value_and_how(client, district, video):
    from reslib.testing import login

    library.changed(video, "processed", None)
    login(client, "student.b")
    page = client.get(f"/resources/{video.id}").get_data(as_text=True)
    assert "资源积分值" in page and "12 分" in page and "容量系数 1.2（12.0 分钟）" in page


def test_prizes_are_credited_once_and_taken_back(district):
    award = {"key": "awards:entry:7", "title": "《光的折射》微课", "level": "first",
             "people": [district.teacher_a.id, district.teacher_b.id], "at": utcnow()}
    prizes.credit(award)
    prizes.credit(award)  # announced twice
    assert ledger(kind="prize") == [("prize", 50), ("prize", 50)]
    prizes.credit({**award, "revoked_at": utcnow()})
    assert ledger(district.teacher_a) == [("prize", 50), ("prize", -50)]
    assert balance(district.teacher_a) == 0


def test_recompute_agrees_with_the_running_totals(district, video, document):
    library.changed(video, "published", district.district_admin)
    library.changed(document, "published", district.district_admin)
    play(district.student_b, video, 100)
    usage.record(district.student_a, document, "view")
    before = ledger()
    assert recompute.recompute(check=True).differences == []
    result = recompute.recompute()
    assert not result.added and ledger() == before
    db.session.execute(update(PersonTerm).values(points=PersonTerm.points + 1))
    db.session.commit()
    differences = recompute.recompute(check=True).differences
    assert differences and differences[0][0] == "person_term"
    assert db.session.scalar(select(func.sum(PersonTerm.points))) == sum(a for _k, a in before) + len(
        db.session.scalars(select(PersonTerm)).all())  # --check changed nothing
    recompute.recompute()
    assert recompute.recompute(check=True).differences == []


def test_events_while_the_plugin_was_off_are_credited_by_a_recompute_once(tmp_path, district, video):
    off = make_test_app(tmp_path / "off", SQLALCHEMY_DATABASE_URI=db.engine.url.render_as_string(False),
                        PLUGINS=[])
    with off.app_context():
        from reslib.models import User

        usage.record(db.session.get(User, district.student_b.id), db.session.get(type(video), video.id),
                     "preview", 100)
    assert ledger() == []
    result = recompute.recompute()
    assert dict(result.added) == {"study": 1, "share": 1, "contribute": 1}  # published meanwhile too
    assert recompute.recompute().added == {}
    assert ledger(district.student_b) == [("study", 2)]
    assert ledger(district.teacher_a) == [("share", 1), ("contribute", 12)]
    assert db.session.get(SchoolDay, (district.school_b.id, periods.local_today())).points == 2


def test_term_totals_fall_on_local_days(district, document):
    usage.record(district.student_b, document, "view")
    # 23:30 on 31 January in Beijing is the autumn term; 00:30 on 1 February the spring term.
    db.session.execute(update(UsageEvent).values(at=datetime(2026, 1, 31, 15, 30)))
    db.session.commit()
    recompute.recompute()
    db.session.execute(update(UsageEvent).values(at=datetime(2026, 1, 31, 16, 30)))
    db.session.commit()
    recompute.recompute()
    uses = dict(db.session.execute(select(PersonTerm.term_id, PersonTerm.uses)
                                   .where(PersonTerm.user_id == district.student_b.id)).all())
    assert uses.get(periods.term_on(date(2026, 2, 1)).id) == 1
    assert not uses.get(periods.term_on(date(2026, 1, 31)).id)
