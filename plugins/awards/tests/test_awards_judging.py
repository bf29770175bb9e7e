"""Judging: balanced assignment free of conflicts of interest, blind pages, scores against the rubric, a further
judge where two disagree, and scores locked when judging closes (a correction then needs a reason)."""
from collections import Counter

import pytest
from sqlalchemy import select

from plugins.awards import judging, service
from plugins.awards.models import Assignment
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AuditEvent
from reslib.testing import login, post_form


def test_automatic_assignment_is_balanced_and_never_conflicted(stage):
    district = stage.district
    stage.open()
    a1 = stage.enter(district.teacher_a, "甲一")
    a2 = stage.enter(district.admin_a, "甲二", ["teacher.a"])
    b1 = stage.enter(district.teacher_b, "乙一")
    stage.judging(stage.judge_c1, stage.judge_c2, district.reviewer, district.teacher_a)
    short = judging.assign_automatically(stage.admin, stage.competition)
    assert short == []
    for entry in (a1, a2, b1):
        judges = [assignment.judge for assignment in entry.assignments]
        assert len(judges) == 2
        assert all(judge.school_id != entry.school_id and judge.id not in entry.author_ids for judge in judges)
    load = Counter(assignment.judge_id for assignment in db.session.scalars(select(Assignment)))
    assert max(load.values()) - min(load.values()) <= 1
    # running it again changes nothing: every entry has its judges
    assert judging.assign_automatically(stage.admin, stage.competition) == []
    assert db.session.query(Assignment).count() == 6


def test_too_few_judges_free_of_conflict_are_reported(stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "甲一")
    stage.judging(stage.district.admin_a, stage.judge_c1)  # admin.a is of the entry's school
    assert judging.assign_automatically(stage.admin, stage.competition) == [entry]
    assert [assignment.judge_id for assignment in entry.assignments] == [stage.judge_c1.id]


def test_a_manual_choice_is_refused_for_a_conflict(stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "甲一", ["teacher.b"])
    stage.judging(stage.judge_c1, stage.district.teacher_b, stage.district.admin_a)
    for username, reason in (("teacher.b", "自己"), ("admin.a", "本校"), ("teacher.c", "不是本次评比的评审专家")):
        with pytest.raises(ReslibError, match=reason):
            judging.assign(stage.admin, entry, username)
    assert judging.assign(stage.admin, entry, "judge.c1").judge_id == stage.judge_c1.id


def test_the_judges_page_is_blind_and_serves_the_file(client, stage):
    stage.district.teacher_a.real_name = "孙老师"
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "光的折射")
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    assignment = entry.assignments[0]
    login(client, assignment.judge.username)
    page = client.get(f"/awards/judging/{assignment.id}").get_data(as_text=True)
    assert "光的折射" in page and "方向正确" in page
    for revealing in ("孙老师", "teacher.a", "第一实验小学", f"/resources/{entry.resource_id}"):
        assert revealing not in page, revealing
    tasks = client.get("/awards/judging").get_data(as_text=True)
    assert "光的折射" in tasks and "孙老师" not in tasks and "第一实验小学" not in tasks
    response = client.get(f"/awards/judging/{assignment.id}/file")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert entry.resource.file_name not in response.headers.get("Content-Disposition", "")  # it may name its author
    response.close()
    other = entry.assignments[1]
    assert client.get(f"/awards/judging/{other.id}").status_code == 404  # another judge's task
    assert client.get(f"/awards/judging/{other.id}/file").status_code == 404


def test_not_blind_shows_author_and_school(client, district, blind_off_stage):
    stage = blind_off_stage
    stage.open()
    entry = stage.enter(district.teacher_a, "光的折射")
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    login(client, entry.assignments[0].judge.username)
    page = client.get(f"/awards/judging/{entry.assignments[0].id}").get_data(as_text=True)
    assert "第一实验小学" in page and district.teacher_a.real_name in page


def test_scores_are_checked_against_the_rubric(client, stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "光的折射")
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    assignment = entry.assignments[0]
    login(client, assignment.judge.username)
    path = f"/awards/judging/{assignment.id}"
    response = post_form(client, path, {"points-0": "26", "points-1": "30", "points-2": "20", "points-3": "20",
                                        "comment-1": "清楚"}, token_page=path)
    assert response.status_code == 200 and "“方向正确”应为 0 到 25 的整数" in response.get_data(as_text=True)
    response = post_form(client, path, {"points-0": "25", "points-1": "30", "points-2": "20", "points-3": "20"},
                         token_page=path)
    assert "请填写“科学规范”的评语" in response.get_data(as_text=True)
    response = post_form(client, path, {"points-0": "25", "points-1": "30", "points-2": "20", "points-3": "20",
                                        "comment-1": "推导清楚"}, token_page=path)
    assert response.status_code == 302
    db.session.expire_all()
    assert assignment.total == 95 and assignment.scores[1] == {"points": 30, "comment": "推导清楚"}
    assert "已评 1 件，共 1 件" in client.get("/awards/judging").get_data(as_text=True)


def test_judges_apart_by_more_than_the_margin_bring_in_a_further_judge(stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "光的折射")
    stage.judging(stage.judge_c1, stage.judge_c2, stage.district.reviewer)
    judging.assign_automatically(stage.admin, stage.competition)
    first_two = {assignment.judge_id for assignment in entry.assignments}
    stage.score(entry, 90, 60)  # apart by 30 > 20
    assert entry.flagged
    extra = [assignment for assignment in entry.assignments if assignment.extra]
    panel = {stage.judge_c1.id, stage.judge_c2.id, stage.district.reviewer.id}
    assert len(extra) == 1 and {extra[0].judge_id} == panel - first_two
    stage.score(entry, 90, 60, 80)
    assert judging.mean_score(entry) == pytest.approx(76.67)
    assert len(entry.assignments) == 3  # one further judge, never a chain of them


def test_scores_lock_when_judging_closes_and_a_correction_needs_a_reason(stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "光的折射")
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    stage.score(entry, 80, 82)
    service.set_status(stage.admin, stage.competition, "closed")
    assignment = entry.assignments[0]
    with pytest.raises(ReslibError, match="更正理由"):
        judging.submit_scores(assignment.judge, assignment, stage.spread(70), ["评语"] * 4)
    judging.submit_scores(assignment.judge, assignment, stage.spread(70), ["评语"] * 4, "误将科学规范多计 10 分")
    assert assignment.total == 70 and assignment.corrected_reason == "误将科学规范多计 10 分"
    detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "awards.score_corrected"))
    assert detail == "80 → 70：误将科学规范多计 10 分"


def test_the_admin_sees_every_judges_progress(client, stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "光的折射")
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    stage.score(entry, 80)
    login(client, "admin")
    page = client.get(f"/awards/{stage.competition.id}/judging").get_data(as_text=True)
    assert "赵评审" in page and "钱评审" in page and "光的折射" in page and "80" in page
    assert [(row["done"], row["total"]) for row in judging.progress(stage.competition)] == [(1, 1), (0, 1)]
