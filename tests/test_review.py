"""Review and grading (审核入库): the workflow, the district panel, grades, new versions, queues, the pages."""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from reslib import hookimpl
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AppendOnlyViolation, AuditEvent, Resource, ReviewAssignment, ReviewDecision, User
from reslib.services import library, review, vocabularies
from reslib.testing import (add_resource, at_once, login, post_form, ready_resource, second_reviewer,
                            to_district_review)

# Full marks 20/20/30/20/10 (config REVIEW_RUBRIC); these score 90 and 80 points.
NINETY = {"导向正确": 18, "科学规范": 18, "教学价值": 27, "技术质量": 18, "版权合规": 9}
EIGHTY = {"导向正确": 16, "科学规范": 16, "教学价值": 24, "技术质量": 16, "版权合规": 8}


class ChangeRecorder:
    """Records resource_changed calls with the status the database held at that moment."""

    def __init__(self):
        self.changes = []

    @hookimpl
    def resource_changed(self, resource, change, actor):
        with db.engine.connect() as other_connection:  # sees only what was committed
            committed = other_connection.execute(select(Resource.status).where(Resource.id == resource.id)).scalar()
        self.changes.append((resource.id, change, committed))


@pytest.fixture
def recorder():
    return ChangeRecorder()


@pytest.fixture
def app_config(recorder):
    return {"EXTRA_PLUGINS": [recorder]}


def reload(resource) -> Resource:
    db.session.expire_all()
    return db.session.get(Resource, resource.id)


def scored_panel(district, resource, first=NINETY, second=EIGHTY):
    other = second_reviewer(district)
    review.assign_panel(district.district_admin, resource, [district.reviewer.id, other.id])
    review.score(district.reviewer, resource, first)
    review.score(other, resource, second)
    return other


def browser(app, username):
    client = app.test_client()
    login(client, username)
    return client


# --- the whole path, through the pages ----------------------------------------------------------

def test_draft_to_published_through_the_pages_with_the_grade_from_the_mean(app, district, recorder):
    resource = ready_resource(district.teacher_a)
    other = second_reviewer(district)
    detail = f"/resources/{resource.id}/review"

    teacher = browser(app, "teacher.a")
    response = post_form(teacher, f"/resources/{resource.id}/submit")
    assert response.headers["Location"] == detail and reload(resource).status == "submitted"

    school = browser(app, "admin.a")
    assert resource.title in school.get("/review").get_data(as_text=True)
    post_form(school, f"/resources/{resource.id}/school-decision", {"decision": "approve"}, token_page=detail)
    assert reload(resource).status == "school_approved" and reload(resource).published_at is not None
    post_form(school, f"/resources/{resource.id}/recommend", token_page=detail)
    assert reload(resource).status == "district_review"

    admin = browser(app, "admin")
    due = (review.today() + timedelta(days=7)).isoformat()
    post_form(admin, f"/resources/{resource.id}/panel",
              {"reviewer_ids": [str(district.reviewer.id), str(other.id)], "due": due}, token_page=detail)
    assert reload(resource).review_due.isoformat() == due

    for username, scores, comment in (("reviewer", NINETY, "结构清楚"), ("reviewer.c", EIGHTY, "节奏偏快")):
        reviewer = browser(app, username)
        assert "待我评分" in reviewer.get("/review").get_data(as_text=True)
        form = {f"c{i}": str(points) for i, points in enumerate(scores.values())}
        post_form(reviewer, f"/resources/{resource.id}/scores", {**form, "comment": comment}, token_page=detail)
        assert "我已评分" in reviewer.get("/review").get_data(as_text=True)

    page = admin.get(detail).get_data(as_text=True)
    assert "85.0" in page and "良" in page and "结构清楚" in page and "节奏偏快" in page  # the mean of 90 and 80
    second_page = browser(app, "reviewer.c").get(detail).get_data(as_text=True)
    assert "节奏偏快" in second_page and "结构清楚" not in second_page and "85.0" not in second_page
    assert "节奏偏快" not in teacher.get(detail).get_data(as_text=True)  # the uploader sees the outcome, not the panel
    response = post_form(admin, f"/resources/{resource.id}/decision", {"decision": "publish"}, token_page=detail)
    assert response.status_code == 302
    published = reload(resource)
    assert (published.status, published.grade, published.score) == ("published", "good", 85.0)

    steps = review.history(published)
    assert [s.action for s in steps] == ["publish", "assign_panel", "recommend", "approve", "submit"]
    assert all(s.actor_id and s.at for s in steps)
    assert (steps[-1].from_status, steps[-1].to_status) == ("draft", "submitted")
    audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.startswith("review."))).all()
    assert sorted(audited) == sorted(["review.submit", "review.approve", "review.recommend", "review.assign_panel",
                                      "review.score", "review.score", "review.publish"])
    # plugins heard of each step after it was committed
    assert [(change, status) for _id, change, status in recorder.changes] == [
        ("submitted", "submitted"), ("school_approved", "school_approved"), ("sent_to_district", "district_review"),
        ("panel_assigned", "district_review"), ("scored", "district_review"), ("scored", "district_review"),
        ("published", "published")]


def test_a_return_with_field_comments_reaches_the_owner_who_can_resubmit(app, district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    school = browser(app, "admin.a")
    post_form(school, f"/resources/{resource.id}/school-decision",
              {"decision": "return", "comment": "请完善信息", "notes-title": "标题太笼统，请写明课题",
               "notes-keywords": "关键词太少"}, token_page=f"/resources/{resource.id}/review")
    returned = reload(resource)
    assert returned.status == "returned" and returned.status_reason == "请完善信息"
    assert review.latest_return(returned).field_comments == {"title": "标题太笼统，请写明课题", "keywords": "关键词太少"}

    teacher = browser(app, "teacher.a")
    edit_page = teacher.get(f"/resources/{resource.id}/edit").get_data(as_text=True)
    assert "标题太笼统，请写明课题" in edit_page and "关键词太少" in edit_page and "请完善信息" in edit_page
    post_form(teacher, f"/resources/{resource.id}/submit", token_page=f"/resources/{resource.id}/edit")
    assert reload(resource).status == "submitted"


def test_a_return_needs_a_comment_and_errors_keep_what_was_typed(app, district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    school = browser(app, "admin.a")
    response = post_form(school, f"/resources/{resource.id}/school-decision",
                         {"decision": "reject", "notes-title": "我的草稿意见"}, token_page=f"/resources/{resource.id}/review")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "不通过请写明原因" in page and 'value="我的草稿意见"' in page
    with pytest.raises(ReslibError, match="退回修改请写明意见"):
        review.school_decision(district.admin_a, resource, "return", "  ", {"title": " "})
    assert reload(resource).status == "submitted"


def test_a_rejection_keeps_its_reason(district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    review.school_decision(district.admin_a, resource, "reject", "与本校已有资源重复")
    rejected = reload(resource)
    assert rejected.status == "rejected" and rejected.status_reason == "与本校已有资源重复"
    step = review.history(rejected)[0]
    assert (step.action, step.comment, step.actor_id) == ("reject", "与本校已有资源重复", district.admin_a.id)


def test_submission_needs_complete_metadata_and_a_processed_file(app, district):
    bare = add_resource(district.teacher_a, status="draft")
    with pytest.raises(library.MetadataInvalid) as missing:
        review.submit(district.teacher_a, bare)
    assert missing.value.errors["subject_id"] == "请选择学科"
    teacher = browser(app, "teacher.a")
    response = post_form(teacher, f"/resources/{bare.id}/submit", token_page=f"/resources/{bare.id}/edit")
    assert response.headers["Location"] == f"/resources/{bare.id}/edit"
    assert "请选择学科" in teacher.get(response.headers["Location"]).get_data(as_text=True)

    processing = ready_resource(district.teacher_a, processing="running", title="处理中的资源")
    with pytest.raises(ReslibError, match="文件还在处理中"):
        review.submit(district.teacher_a, processing)
    failed = ready_resource(district.teacher_a, processing="failed", processing_error="文件已损坏", title="坏文件")
    with pytest.raises(ReslibError, match="文件已损坏"):
        review.submit(district.teacher_a, failed)
    assert {reload(r).status for r in (bare, processing, failed)} == {"draft"}


# --- the district panel -------------------------------------------------------------------------

def test_a_reviewer_of_the_resources_own_school_cannot_be_assigned(district):
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    same_school = district.user("reviewer.a", {"reviewer", "teacher"}, district.school_a, identifier="T1900")
    db.session.commit()
    assert same_school not in review.eligible_reviewers(resource)
    assert district.reviewer in review.eligible_reviewers(resource)
    with pytest.raises(ReslibError, match="评审专家不能评审本校的资源"):
        review.assign_panel(district.district_admin, resource, [district.reviewer.id, same_school.id])
    with pytest.raises(ReslibError, match="不是评审专家"):
        review.assign_panel(district.district_admin, resource, [district.reviewer.id, district.teacher_b.id])
    assert not db.session.scalars(select(ReviewAssignment)).all()


def test_fewer_reviewers_than_the_panel_size_are_refused(district):
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    with pytest.raises(ReslibError, match="至少需要 2 位评审专家"):
        review.assign_panel(district.district_admin, resource, [district.reviewer.id, district.reviewer.id])
    with pytest.raises(ReslibError, match="截止日期不能早于今天"):
        review.assign_panel(district.district_admin, resource, [district.reviewer.id], review.today() - timedelta(days=1))
    other = second_reviewer(district)
    review.assign_panel(district.district_admin, resource, [district.reviewer.id, other.id])
    assert reload(resource).review_due == review.today() + timedelta(days=14)  # REVIEW_DAYS


def test_publishing_waits_for_every_reviewer(district):
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    with pytest.raises(ReslibError, match="至少需要 2 位评审专家评分"):
        review.decide(district.district_admin, resource, "publish")
    other = second_reviewer(district)
    review.assign_panel(district.district_admin, resource, [district.reviewer.id, other.id])
    review.score(district.reviewer, resource, NINETY)
    with pytest.raises(ReslibError, match="还有评审专家没有评分（已评 1 / 2）"):
        review.decide(district.district_admin, resource, "publish")
    review.score(other, resource, EIGHTY)
    review.decide(district.district_admin, resource, "publish")
    assert reload(resource).status == "published"


def test_scores_are_checked_per_criterion_and_can_be_revised_until_the_decision(district):
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    other = second_reviewer(district)
    review.assign_panel(district.district_admin, resource, [district.reviewer.id, other.id])
    with pytest.raises(review.ScoresInvalid) as invalid:
        review.score(district.reviewer, resource, {**NINETY, "教学价值": 31, "版权合规": "很好", "技术质量": ""})
    assert invalid.value.errors == {"教学价值": "“教学价值”应为 0 到 30 之间的数",
                                    "版权合规": "“版权合规”应为 0 到 10 之间的数", "技术质量": "请给“技术质量”打分"}
    review.score(district.reviewer, resource, EIGHTY)
    assignment = review.score(district.reviewer, resource, {**NINETY, "教学价值": "26.5"})
    assert assignment.total == 89.5 and assignment.scores["教学价值"] == 26.5
    review.score(other, resource, EIGHTY)
    review.decide(district.district_admin, resource, "publish")
    with pytest.raises(Forbidden):  # the decision closes the scoring
        review.score(district.reviewer, resource, NINETY)


def test_the_score_form_keeps_its_input_and_shows_errors_per_criterion(app, district):
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    review.assign_panel(district.district_admin, resource, [district.reviewer.id, second_reviewer(district).id])
    reviewer = browser(app, "reviewer")
    response = post_form(reviewer, f"/resources/{resource.id}/scores",
                         {"c0": "18", "c1": "25", "c2": "27", "c3": "18", "c4": "9", "comment": "示范性强"},
                         token_page=f"/resources/{resource.id}/review")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "“科学规范”应为 0 到 20 之间的数" in page
    assert 'value="25"' in page and "示范性强" in page
    assert db.session.scalar(select(ReviewAssignment.scored_at)) is None


def test_large_disagreement_between_reviewers_is_flagged(district):
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    other = scored_panel(district, resource, NINETY, EIGHTY)
    assert not review.panel_summary(resource).disagreement  # 10 points apart
    review.score(other, resource, {"导向正确": 14, "科学规范": 14, "教学价值": 20, "技术质量": 14, "版权合规": 7})
    summary = review.panel_summary(resource)
    assert summary.spread == 21 and summary.disagreement  # more than REVIEW_DISAGREEMENT_POINTS (20)


@pytest.mark.parametrize("mean, grade", [(100, "excellent"), (90, "excellent"), (89.9, "good"), (75, "good"),
                                         (74.5, "pass"), (60, "pass"), (59.9, "fail"), (0, "fail")])
def test_grade_thresholds(app, mean, grade):
    assert review.grade_for(mean) == grade


def test_the_thresholds_are_configurable_and_a_failing_mean_cannot_be_published(app, district):
    app.config["REVIEW_GRADE_THRESHOLDS"] = {"excellent": 95, "good": 86, "pass": 82}
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    scored_panel(district, resource, NINETY, EIGHTY)
    assert review.panel_summary(resource).grade == "pass"  # 85 is only 合格 here
    app.config["REVIEW_GRADE_THRESHOLDS"] = {"excellent": 95, "good": 90, "pass": 86}
    with pytest.raises(ReslibError, match="评审均分 85.0 未达到合格线"):
        review.decide(district.district_admin, resource, "publish")
    assert reload(resource).status == "district_review"


def test_the_district_returns_or_rejects_with_reasons(district):
    returned, rejected = ready_resource(district.teacher_a), ready_resource(district.teacher_a, title="另一个资源")
    for resource in (returned, rejected):
        to_district_review(district, resource)
    review.decide(district.district_admin, returned, "return", field_comments={"presenters": "请写全主讲人"})
    review.decide(district.district_admin, rejected, "reject", "内容有科学性错误")
    assert reload(returned).status == "returned" and review.latest_return(returned).field_comments == {"presenters": "请写全主讲人"}
    assert (reload(rejected).status, reload(rejected).status_reason) == ("rejected", "内容有科学性错误")


# --- versions, withdrawal, the record -----------------------------------------------------------

def test_a_new_version_keeps_the_published_one_visible_until_it_is_published(district, recorder):
    old = ready_resource(district.teacher_a, status="published", title="勾股定理")
    new = library.new_version(district.teacher_a, old)
    review.submit(district.teacher_a, new)
    review.school_decision(district.admin_a, new, "approve")
    assert reload(old).status == "published"  # the school library is below the district library
    review.recommend(district.admin_a, new)
    scored_panel(district, new)
    review.decide(district.district_admin, new, "publish")
    assert reload(old).status == "superseded" and reload(new).status == "published"
    step = review.history(old)[0]
    assert (step.resource_id, step.action, step.from_status, step.to_status) == (old.id, "supersede", "published", "superseded")
    assert (old.id, "superseded", "superseded") in recorder.changes
    assert {s.resource_id for s in review.history(new)} == {old.id, new.id}  # the lineage's whole record


def test_a_new_version_of_a_school_library_resource_replaces_it_on_school_approval(district):
    old = ready_resource(district.teacher_a, status="school_approved", title="校本资源")
    new = library.new_version(district.teacher_a, old)
    review.submit(district.teacher_a, new)
    assert reload(old).status == "school_approved"  # still in the school library while the new one waits
    review.school_decision(district.admin_a, new, "approve")
    assert (reload(old).status, reload(new).status) == ("superseded", "school_approved")


def test_withdrawing_needs_a_reason_and_the_right(district):
    published = ready_resource(district.teacher_a, status="published")
    with pytest.raises(Forbidden):
        review.withdraw(district.admin_a, published, "过时")  # the district library is the district's
    with pytest.raises(ReslibError, match="请写明撤下的原因"):
        review.withdraw(district.district_admin, published, " ")
    review.withdraw(district.district_admin, published, "教材已改版")
    withdrawn = reload(published)
    assert (withdrawn.status, withdrawn.status_reason) == ("withdrawn", "教材已改版")
    assert review.history(withdrawn)[0].comment == "教材已改版"


def test_review_decisions_cannot_be_edited(district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    step = db.session.scalar(select(ReviewDecision))
    step.comment = "改过的记录"
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()


def test_another_schools_admin_is_refused(app, district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    other = browser(app, "admin.b")
    detail = f"/resources/{resource.id}/review"
    assert other.get(detail).status_code == 403
    assert post_form(other, f"/resources/{resource.id}/school-decision", {"decision": "approve"}).status_code == 403
    with pytest.raises(Forbidden):
        review.school_decision(district.admin_b, resource, "approve")
    assert reload(resource).status == "submitted"
    assert browser(app, "admin.a").get(detail).status_code == 200


# --- two people at once ---------------------------------------------------------------------------

def test_a_step_checked_against_a_status_that_changed_since_is_refused_and_keeps_nothing(app, district, recorder):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    with app.app_context():  # another request: a second school admin approves it first
        review.school_decision(db.session.get(User, district.admin_a.id), db.session.get(Resource, resource.id),
                               "approve")
    assert resource.status == "submitted"  # what this request loaded, and checked the step against
    with pytest.raises(library.StateChanged, match="现在是“已入校本库”"):
        review.school_decision(district.admin_a, resource, "reject", "内容重复")
    kept = reload(resource)
    assert (kept.status, kept.status_reason) == ("school_approved", None)
    assert [step.action for step in review.history(kept)] == ["approve", "submit"]
    assert [change for _, change, _ in recorder.changes] == ["submitted", "school_approved"]


def school_step(admin_id, resource_id, decision, comment=""):
    def prepare():
        admin, resource = db.session.get(User, admin_id), db.session.get(Resource, resource_id)
        assert resource.status == "submitted"
        return lambda: review.school_decision(admin, resource, decision, comment)
    return prepare


def test_of_two_decisions_sent_at_once_exactly_one_is_taken(app, district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    second_admin = district.user("admin.a2", {"school_admin", "teacher"}, district.school_a, identifier="T1902")
    db.session.commit()
    outcomes = at_once(app, {"approve": school_step(district.admin_a.id, resource.id, "approve"),
                             "reject": school_step(second_admin.id, resource.id, "reject", "内容重复")})
    assert sorted(outcomes.values()) == ["refused", "taken"], outcomes
    taken = next(decision for decision, outcome in outcomes.items() if outcome == "taken")
    final = reload(resource)
    assert final.status == review.SCHOOL_DECISIONS[taken]
    assert [step.action for step in review.history(final)] == [taken, "submit"]


def test_two_clicks_on_new_version_at_once_make_one_draft(app, district, monkeypatch):
    published = ready_resource(district.teacher_a, status="published", title="勾股定理")
    db.session.commit()
    both_looked = threading.Barrier(2)
    add_new = library._add_new

    def add_new_once_both_looked(resource):
        # Widen the race: a click that found no draft waits (at most a second) for the other click to look
        # too. Unguarded, both then add one; guarded, the other is still waiting for the row.
        try:
            both_looked.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass
        add_new(resource)

    monkeypatch.setattr(library, "_add_new", add_new_once_both_looked)

    def click():
        owner, resource = db.session.get(User, district.teacher_a.id), db.session.get(Resource, published.id)
        return lambda: library.new_version(owner, resource).id

    outcomes = at_once(app, {"first tab": click, "second tab": click})
    assert outcomes["first tab"] == outcomes["second tab"], outcomes  # the second click finds the first's draft
    drafts = db.session.scalars(select(Resource.id).where(Resource.supersedes_id == published.id)).all()
    assert drafts == [outcomes["first tab"]]


def shown_status(page: str) -> str:
    found = re.search(r'name="shown_status" type="hidden" value="([^"]*)"', page)
    assert found, "the page's step forms carry no shown_status"
    return found.group(1)


def test_a_step_sent_from_a_stale_page_says_what_happened_and_a_forged_one_is_refused(app, district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    detail = f"/resources/{resource.id}/review"
    admin = browser(app, "admin.a")
    stale_page = admin.get(detail).get_data(as_text=True)
    assert shown_status(stale_page) == "submitted"
    review.school_decision(district.admin_a, resource, "approve")  # done meanwhile, in another tab

    response = post_form(admin, f"/resources/{resource.id}/school-decision",
                         {"decision": "reject", "comment": "内容重复", "shown_status": "submitted"}, token_page=detail)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "这一步没有执行" in page and "现在是“已入校本库”" in page and "没有权限" not in page
    assert shown_status(page) == "school_approved"  # the page's forms are now for the status it has
    assert reload(resource).status == "school_approved"

    # The same step sent for the status the resource has is a refusal: the stale-page answer is no way round it.
    teacher = browser(app, "teacher.a")
    assert post_form(teacher, f"/resources/{resource.id}/recommend", {"shown_status": "school_approved"},
                     token_page=detail).status_code == 403
    # The owner's second tab still shows the draft's edit page; its 提交审核 button says what happened.
    response = post_form(teacher, f"/resources/{resource.id}/submit", {"shown_status": "draft"}, token_page=detail)
    assert response.status_code == 409 and "现在是“已入校本库”" in response.get_data(as_text=True)


def test_a_save_from_an_edit_tab_left_open_after_submitting_says_so_and_changes_nothing(app, district):
    resource = ready_resource(district.teacher_a, title="勾股定理微课")
    edit = f"/resources/{resource.id}/edit"
    teacher = browser(app, "teacher.a")
    assert shown_status(teacher.get(edit).get_data(as_text=True)) == "draft"
    with app.app_context():  # submitted from another tab, and a save from this one on its way meanwhile
        review.submit(db.session.get(User, district.teacher_a.id), db.session.get(Resource, resource.id))
    with pytest.raises(library.StateChanged, match="现在是“待学校审核”"):
        library.update_metadata(district.teacher_a, resource, {"title": "改过的标题"})
    second = ready_resource(district.teacher_a, title="另一份草稿")
    with app.app_context():
        review.submit(db.session.get(User, district.teacher_a.id), db.session.get(Resource, second.id))
    with pytest.raises(library.StateChanged):
        library.delete_draft(district.teacher_a, second)  # still loaded here as a draft
    assert reload(second).status == "submitted"

    response = post_form(teacher, edit, {"title": "改过的标题", "shown_status": "draft"}, token_page=edit)
    assert response.status_code == 409 and "现在是“待学校审核”" in response.get_data(as_text=True)
    assert reload(resource).title == "勾股定理微课"
    # The tab's other buttons, 删除草稿 and 上传封面, say the same and change nothing either.
    for action in ("delete", "edit/cover"):
        response = post_form(teacher, f"/resources/{resource.id}/{action}", {"shown_status": "draft"}, token_page=edit)
        assert response.status_code == 409 and "现在是“待学校审核”" in response.get_data(as_text=True)
    assert reload(resource).status == "submitted"


def test_a_score_and_a_decision_sent_at_once_never_publish_without_the_score(app, district, monkeypatch):
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    other = scored_panel(district, resource, first=NINETY, second=EIGHTY)
    db.session.commit()
    rescore = {**EIGHTY, "教学价值": 12}  # the second reviewer lowers their total from 80 to 68
    score_saved = threading.Event()
    panel_summary = review.panel_summary

    def panel_summary_then_wait_for_the_score(of):
        # Widen the race: the decision, having read the panel, waits (at most a second) for the revision.
        summary = panel_summary(of)
        score_saved.wait(timeout=1)
        return summary

    def score_then_say_so(actor, r):
        try:
            return review.score(actor, r, rescore)
        finally:
            score_saved.set()

    monkeypatch.setattr(review, "panel_summary", panel_summary_then_wait_for_the_score)

    def step(actor_id, act):
        def prepare():
            actor, mine = db.session.get(User, actor_id), db.session.get(Resource, resource.id)
            return lambda: act(actor, mine) and None
        return prepare

    outcomes = at_once(app, {
        "score": step(other.id, score_then_say_so),
        "decide": step(district.district_admin.id, lambda actor, r: review.decide(actor, r, "publish")),
    })
    assert outcomes["decide"] == "taken", outcomes
    # Either the revision came first and the grade counts it, or it came after and was refused.
    assert reload(resource).score == {"taken": 79.0, "refused": 85.0}[outcomes["score"]]


# --- queues --------------------------------------------------------------------------------------

def test_queues_count_filter_and_flag_overdue(app, district):
    maths, chinese = vocabularies.terms("subject")[1], vocabularies.terms("subject")[0]
    waiting = ready_resource(district.teacher_a, title="待审数学", subject_id=maths.id)
    review.submit(district.teacher_a, waiting)
    scoring = ready_resource(district.teacher_a, title="评审中语文", subject_id=chinese.id)
    to_district_review(district, scoring)
    review.assign_panel(district.district_admin, scoring, [district.reviewer.id, second_reviewer(district).id])
    db.session.execute(ReviewAssignment.__table__.update().values(due=review.today() - timedelta(days=1)))
    db.session.commit()

    def listed(user, queue, **filters):
        return [(item.stage, item.resource.title) for page in review.queues_for(user, **filters)[queue].values()
                for item in page.items]

    assert listed(district.admin_a, "school") == [("submitted", "待审数学")]
    assert listed(district.admin_b, "school") == []
    assert listed(district.admin_a, "school", subject_id=chinese.id) == []
    [item] = review.queues_for(district.reviewer)["reviewer"]["unscored"].items
    assert (item.stage, item.overdue) == ("unscored", True)
    assert listed(district.district_admin, "district") == [("scoring", "评审中语文")]
    assert {name: list(pages) for name, pages in review.queues_for(district.district_admin, stage="scoring").items()} \
        == {"district": ["scoring"]}
    assert review.queue_counts(district.admin_a)["todo"] == 1
    assert review.queue_counts(district.reviewer)["unscored"] == 1
    assert review.queue_counts(district.teacher_a) == {}

    page = browser(app, "reviewer").get("/review").get_data(as_text=True)
    assert "评审中语文" in page and "已逾期" in page and "待审数学" not in page
    admin = browser(app, "admin")
    assert "待审数学" not in admin.get("/review?stage=scoring").get_data(as_text=True)
    assert browser(app, "teacher.a").get("/review").status_code == 403
