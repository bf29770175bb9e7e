"""Prizes from scores: the seeds' rule with the documented rounding and tie rule, the admin's preview and
adjustments, publication announcing each prize (the points plugin credits it), and the public list."""
from collections import Counter

import pytest
from sqlalchemy import select

from plugins.awards import certificates, judging, results, service
from plugins.awards.models import Certificate
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib import hookimpl
from reslib.plugins import hooks
from reslib.testing import login, post_form


def prizes(scores, ratio="3:3:4", rate=80) -> Counter:
    return Counter(results.rank(list(enumerate(scores)), ratio, rate).values())


def test_49_entries_give_39_winners_split_by_the_documented_rounding(app):
    found = prizes([100 - index for index in range(49)])
    # 39 winners; exact shares 11.7 / 11.7 / 15.6; floors 11/11/15; the two left go to the largest remainders,
    # equal remainders to the lower prize first: 2nd, then 1st.
    assert found == Counter({"first": 12, "second": 12, "third": 15, None: 10})


def test_the_best_scores_win_the_higher_prizes(app):
    ranked = results.rank([(1, 70.0), (2, 95.0), (3, 88.5), (4, 60.0), (5, 91.0)], "3:3:4", 80)
    assert ranked == {2: "first", 5: "second", 3: "third", 1: "third", 4: None}


def test_a_tie_across_a_prize_line_takes_the_higher_prize_and_the_cap_holds(app):
    # 10 entries: 8 winners, 2/3/3. Places 2 and 3 tie across the first-prize line: both first.
    ranked = results.rank([(1, 99.0), (2, 95.0), (3, 95.0), *[(n, 90.0 - n) for n in range(4, 11)]], "3:3:4", 80)
    found = Counter(ranked.values())
    assert ranked[2] == ranked[3] == "first" and found["first"] == 3
    assert sum(found[prize] for prize in ("first", "second", "third")) == 8


def test_a_tie_across_the_cap_wins_nothing_rather_than_break_the_cap(app):
    # 10 entries, 8 may win; places 8 and 9 tie: both would make 9 winners, so neither wins.
    scores = [(n, 100.0 - n) for n in range(1, 8)] + [(8, 50.0), (9, 50.0), (10, 10.0)]
    ranked = results.rank(scores, "3:3:4", 80)
    assert ranked[8] is ranked[9] is None and sum(1 for prize in ranked.values() if prize) == 7


@pytest.mark.parametrize(("count", "expected"), [
    (1, Counter({None: 1})),  # 80 % of one entry is no winner
    (2, Counter({"third": 1, None: 1})),
    (3, Counter({"second": 1, "third": 1, None: 1})),
])
def test_tiny_categories(app, count, expected):
    assert prizes([90 - index for index in range(count)]) == expected


def test_all_equal_scores_win_the_same_or_nothing(app):
    assert prizes([80] * 10) == Counter({None: 10})  # all of them would break the 80 % cap
    assert prizes([80] * 4, rate=100) == Counter({"first": 4})  # a cap of 100 %: all the same, the highest


def judged(stage, scored: dict, category=None):
    """Enter, judge and close: ``scored`` maps a title to the judges' totals; entries by teachers a and b."""
    stage.open()
    made = {}
    for index, (title, totals) in enumerate(scored.items()):
        teacher = stage.district.teacher_a if index % 2 == 0 else stage.district.teacher_b
        made[title] = stage.enter(teacher, title)
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    for title, totals in scored.items():
        stage.score(made[title], *totals)
    service.set_status(stage.admin, stage.competition, "closed")
    return made


def test_several_categories_are_ranked_each_on_its_own(stage):
    second = service.add_category(stage.admin, stage.competition, "中学组", prize_ratio="1:1:1",
                                  max_award_rate=100)
    stage.open()
    small = stage.enter(stage.district.teacher_a, "小学作品")
    big = stage.enter(stage.district.teacher_b, "中学作品")
    big.category_id = second.id
    db.session.commit()
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    stage.score(small, 90, 90)
    stage.score(big, 60, 60)
    service.set_status(stage.admin, stage.competition, "closed")
    preview = {result.category.name: [(row[0].id, row[3]) for row in result.rows]
               for result in results.preview(stage.competition)}
    # one entry at 80 %: no prize; at 100 % under 1:1:1 its one prize is the lowest (rounding never inflates 1st)
    assert preview == {"综合": [(small.id, None)], "中学组": [(big.id, "third")]}


class Listener:
    """Another plugin, as the points plugin is: it hears prizes announced, never imports awards."""

    def __init__(self):
        self.heard = []

    @hookimpl
    def award_granted(self, award):
        self.heard.append(("granted", award["key"], award["level"], award["people"]))

    @hookimpl
    def award_revoked(self, award):
        self.heard.append(("revoked", award["key"], award["level"], award["people"]))


@pytest.fixture
def listener():
    return Listener()


@pytest.fixture
def app_config(listener):
    return {"EXTRA_PLUGINS": [listener]}


def test_publishing_fixes_prizes_issues_certificates_and_announces_them(client, stage, listener):
    made = judged(stage, {"甲": (95, 93), "乙": (80, 82), "丙": (60, 62)})
    # 3 entries: 2 winners (second, third)
    results.publish(stage.admin, stage.competition)
    db.session.expire_all()
    assert [(made[t].prize, made[t].score) for t in "甲乙丙"] == [("second", 94.0), ("third", 81.0), (None, 61.0)]
    held = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
    assert [(c.holder_id, c.level, c.honour) for c in held] == [
        (stage.district.teacher_a.id, "second", "二等奖"), (stage.district.teacher_b.id, "third", "三等奖")]
    assert len({c.number for c in held}) == 2
    # other plugins heard each prize once (the points plugin credits them: plugins/points/tests)
    a, b = stage.district.teacher_a.id, stage.district.teacher_b.id
    assert listener.heard == [("granted", f"awards:certificate:{held[0].number}", "second", [a]),
                              ("granted", f"awards:certificate:{held[1].number}", "third", [b])]
    assert [award["key"] for batch in hooks().granted_awards() for award in batch] == [
        f"awards:certificate:{c.number}" for c in held]
    with pytest.raises(ReslibError, match="已经发布"):
        results.publish(stage.admin, stage.competition)
    with pytest.raises(ReslibError, match="不能再改"):
        assignment = made["甲"].assignments[0]
        judging.submit_scores(assignment.judge, assignment, ["1", "1", "1", "1"], ["x"] * 4, "更正")
    # revoking is announced too, and the list of prizes says so
    certificates.revoke(stage.admin, held[0], "作品被查实抄袭")
    assert listener.heard[-1] == ("revoked", f"awards:certificate:{held[0].number}", "second", [a])
    assert [bool(award.get("revoked_at")) for batch in hooks().granted_awards() for award in batch] == [True, False]


def test_the_admin_adjusts_a_prize_only_with_a_reason(client, stage):
    made = judged(stage, {"甲": (95, 93), "乙": (80, 82), "丙": (60, 62)})
    with pytest.raises(ReslibError, match="理由"):
        results.adjust(stage.admin, made["丙"], "third", "")
    login(client, "admin")
    path = f"/awards/{stage.competition.id}/results/preview"
    page = client.get(path).get_data(as_text=True)
    assert "甲" in page and "94.0" in page and "二等奖" in page
    response = post_form(client, f"/awards/entries/{made['丙'].id}/prize", {"level": "third",
                                                                           "reason": "评审组复议，补评三等奖"},
                         token_page=path)
    assert response.status_code == 302
    response = post_form(client, f"/awards/{stage.competition.id}/publish", token_page=path)
    assert response.status_code == 302
    db.session.expire_all()
    assert made["丙"].prize == "third" and made["丙"].override_reason == "评审组复议，补评三等奖"


def test_the_published_list_is_public_and_names_pupils_as_the_school_does(app, stage):
    made = judged(stage, {"甲": (95, 93), "乙": (80, 82), "丙": (60, 62)})
    anonymous = app.test_client()
    path = f"/awards/{stage.competition.id}/results"
    assert anonymous.get(path).status_code == 404  # not yet published
    results.publish(stage.admin, stage.competition)
    page = anonymous.get(path).get_data(as_text=True)
    assert "甲" in page and "二等奖" in page and "乙" in page and "丙" not in page.split("获奖名单", 2)[-1]
    assert stage.district.teacher_a.real_name in page and "第一实验小学" in page
    del made
