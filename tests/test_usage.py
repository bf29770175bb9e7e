"""Usage events: dedup window, preview milestones, counts over a lineage, the usage_recorded hook; ratings."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from werkzeug.exceptions import Forbidden

from reslib import hookimpl
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Rating, UsageEvent
from reslib.models.base import utcnow
from reslib.services import accounts, usage
from reslib.testing import add_resource, csrf_token, login, post_form


def events(resource, kind):
    return db.session.scalars(select(UsageEvent).where(UsageEvent.lineage_id == resource.lineage_id,
                                                       UsageEvent.kind == kind).order_by(UsageEvent.id)).all()


def old_event(resource, user, kind, minutes_ago, progress=None):
    db.session.add(UsageEvent(resource_id=resource.id, lineage_id=resource.lineage_id, user_id=user.id,
                              school_id=user.school_id, kind=kind, progress=progress,
                              at=utcnow() - timedelta(minutes=minutes_ago)))
    db.session.commit()


def test_two_views_inside_the_dedup_window_count_once(client, district):
    resource = add_resource(district.teacher_a)
    login(client, "student.b")
    client.get(f"/resources/{resource.id}")
    client.get(f"/resources/{resource.id}")
    assert len(events(resource, "view")) == 1
    assert usage.counts(resource)["views"] == 1


def test_a_view_after_the_window_counts_again(client, district, app):
    resource = add_resource(district.teacher_a)
    window = app.config["USAGE_DEDUP_MINUTES"]
    old_event(resource, district.student_b, "view", window + 1)
    login(client, "student.b")
    client.get(f"/resources/{resource.id}")
    assert usage.counts(resource)["views"] == 2


def test_a_view_just_inside_the_window_is_a_repeat(client, district, app):
    resource = add_resource(district.teacher_a)
    old_event(resource, district.student_b, "view", app.config["USAGE_DEDUP_MINUTES"] - 1)
    login(client, "student.b")
    client.get(f"/resources/{resource.id}")
    assert usage.counts(resource)["views"] == 1


def test_preview_progress_is_stored_per_milestone(client, district):
    resource = add_resource(district.teacher_a)
    login(client, "student.a")
    token = csrf_token(client, f"/resources/{resource.id}")
    for percent in (5, 10, 30, 40, 60, 99, 100, 100):
        response = client.post(f"/resources/{resource.id}/progress", json={"percent": percent},
                               headers={"X-CSRFToken": token})
        assert response.status_code == 200
    # Each tenth reached once; a report that skips tenths (a failed send, retried later) records the highest.
    assert [e.progress for e in events(resource, "preview")] == [10, 30, 40, 60, 90, 100]


def test_progress_needs_the_csrf_header_and_a_percentage(client, district):
    resource = add_resource(district.teacher_a)
    login(client, "student.a")
    assert client.post(f"/resources/{resource.id}/progress", json={"percent": 50}).status_code == 400
    token = csrf_token(client, f"/resources/{resource.id}")
    for bad in (150, -1, "50", True, None):
        response = client.post(f"/resources/{resource.id}/progress", json={"percent": bad}, headers={"X-CSRFToken": token})
        assert response.status_code == 400, bad
    assert events(resource, "preview") == []


def test_counts_add_up_over_versions_and_learners_are_distinct(app, district):
    first = add_resource(district.teacher_a, status="superseded")
    second = add_resource(district.teacher_a, lineage_id=first.id, supersedes_id=first.id)
    with app.test_request_context():
        usage.record(district.student_a, second, "view")
        usage.record(district.student_a, second, "download")
        usage.record(district.student_b, second, "preview", 50)
        usage.record(district.teacher_b, second, "download")
    old_event(first, district.student_b, "view", 600)
    assert usage.counts(second) == {"views": 2, "downloads": 2, "learners": 3}
    assert usage.counts(first) == usage.counts(second)


def test_nothing_is_counted_for_a_resource_outside_the_libraries(app, district):
    draft = add_resource(district.teacher_a, status="draft")
    with app.test_request_context():
        assert usage.record(district.teacher_a, draft, "view") is None
    assert events(draft, "view") == []


class UsageListener:
    """Records what it sees and whether the event was already committed when it was told."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def usage_recorded(self, event):
        with db.engine.connect() as other:  # another connection sees only committed rows
            committed = other.execute(text("SELECT kind FROM usage_event WHERE id = :id"), {"id": event.id}).scalar()
        self.seen.append((event.kind, committed))


@pytest.fixture
def listener():
    return UsageListener()


@pytest.fixture
def app_config(listener):
    return {"EXTRA_PLUGINS": [listener]}


def test_usage_recorded_is_told_after_the_commit_and_not_for_repeats(client, district, listener):
    resource = add_resource(district.teacher_a)
    login(client, "student.a")
    client.get(f"/resources/{resource.id}")
    client.get(f"/resources/{resource.id}")
    client.get(f"/resources/{resource.id}/download").close()
    post_form(client, f"/resources/{resource.id}/rating", {"stars": "4"}, token_page=f"/resources/{resource.id}")
    assert listener.seen == [("view", "view"), ("download", "download"), ("rate", "rate")]


# --- ratings ----------------------------------------------------------------------------------

def test_one_rating_per_user_editable_with_the_distribution(client, district):
    resource = add_resource(district.teacher_a)
    page = f"/resources/{resource.id}"
    login(client, "student.a")
    post_form(client, f"{page}/rating", {"stars": "2", "comment": "声音太小"}, token_page=page)
    response = post_form(client, f"{page}/rating", {"stars": "5", "comment": "讲得清楚"}, token_page=page)
    assert response.status_code == 302
    other = client.application.test_client()
    login(other, "teacher.b")
    post_form(other, f"{page}/rating", {"stars": "3"}, token_page=page)
    ratings = db.session.scalars(select(Rating).where(Rating.lineage_id == resource.lineage_id)).all()
    assert sorted((r.user_id, r.stars, r.comment) for r in ratings) == sorted(
        [(district.student_a.id, 5, "讲得清楚"), (district.teacher_b.id, 3, "")])
    assert usage.rating_summary(resource) == (4.0, 2, {1: 0, 2: 0, 3: 1, 4: 0, 5: 1})
    html = client.get(page).get_data(as_text=True)
    assert "讲得清楚" in html and "声音太小" not in html
    assert re.search(r'<input checked[^>]*value="5"', html)  # one's own rating comes back in the form, to edit


def test_ratings_are_checked_with_chinese_messages(client, district):
    resource = add_resource(district.teacher_a)
    page = f"/resources/{resource.id}"
    login(client, "student.a")
    for stars in ("", "0", "6", "abc"):
        response = post_form(client, f"{page}/rating", {"stars": stars}, token_page=page)
        assert response.status_code == 422 and "请选择 1 到 5 颗星" in response.get_data(as_text=True)
    response = post_form(client, f"{page}/rating", {"stars": "4", "comment": "长" * 501}, token_page=page)
    assert response.status_code == 422 and "评论不能超过 500 个字" in response.get_data(as_text=True)
    assert db.session.scalar(select(Rating)) is None


def test_a_draft_cannot_be_rated(app, client, district):
    draft = add_resource(district.teacher_a, status="draft")
    login(client, "teacher.a")
    assert post_form(client, f"/resources/{draft.id}/rating", {"stars": "5"}).status_code == 403
    with app.test_request_context(), pytest.raises(Forbidden):
        usage.rate(district.teacher_a, draft, 5)
    assert db.session.scalar(select(Rating)) is None


def test_a_school_library_resource_is_rated_by_its_school_only(app, client, district):
    resource = add_resource(district.teacher_a, status="school_approved")
    with app.test_request_context():
        usage.rate(district.student_a, resource, 4, "好")
        with pytest.raises(Forbidden):
            usage.rate(district.student_b, resource, 1)
    assert usage.rating_summary(resource)[:2] == (4.0, 1)


def test_rating_through_the_api(client, district):
    resource = add_resource(district.teacher_a)
    token = accounts.create_token(district.student_b, "app")
    headers = {"Authorization": f"Bearer {token}"}
    response = client.put(f"/api/v1/resources/{resource.id}/rating", json={"stars": 4, "comment": "不错"}, headers=headers)
    assert response.status_code == 200 and response.json["count"] == 1 and response.json["distribution"]["4"] == 1
    response = client.put(f"/api/v1/resources/{resource.id}/rating", json={"stars": 2}, headers=headers)
    assert response.json == {"stars": 2, "comment": "", "average": 2.0, "count": 1,
                             "distribution": {"1": 0, "2": 1, "3": 0, "4": 0, "5": 0}}
    bad = client.put(f"/api/v1/resources/{resource.id}/rating", json={"stars": 9}, headers=headers)
    assert bad.status_code == 400 and bad.json["error"]["field"] == "stars"
    draft = add_resource(district.teacher_b, status="draft")
    assert client.put(f"/api/v1/resources/{draft.id}/rating", json={"stars": 5}, headers=headers).status_code == 403
    assert client.put(f"/api/v1/resources/{resource.id}/rating", json={"stars": 5}).status_code == 401


def test_a_second_rating_racing_the_first_changes_it(app, district, monkeypatch):
    """A double click sends the rating twice: the second request looked before the first committed, so it
    tries to add a rating too; the database refuses the duplicate and the second changes the first instead."""
    resource = add_resource(district.teacher_a)
    with app.test_request_context():
        usage.rate(district.student_a, resource, 3, "先点的")
        looked_too_early = [None]
        own_rating = usage.own_rating
        monkeypatch.setattr(usage, "own_rating", lambda *args: looked_too_early.pop() if looked_too_early
                            else own_rating(*args))
        rating = usage.rate(district.student_a, resource, 5, "后点的")
    ratings = db.session.scalars(select(Rating)).all()
    assert [(r.stars, r.comment) for r in ratings] == [(5, "后点的")] and rating.stars == 5


def test_rate_service_error_names_the_field(app, district):
    resource = add_resource(district.teacher_a)
    with app.test_request_context(), pytest.raises(ReslibError) as caught:
        usage.rate(district.student_a, resource, 3, "x" * 501)
    assert caught.value.field == "comment"


def test_a_pupils_whole_name_beside_a_rating_stays_within_their_school(client, district):
    from reslib.services.identity import pupil_name

    assert (pupil_name("林诗琪"), pupil_name("欧阳晓晨"), pupil_name("阿依古丽·买买提")) == ("林同学", "欧阳同学", "阿同学")
    district.student_a.real_name, district.teacher_b.real_name = "林诗琪", "欧阳明"
    resource = add_resource(district.teacher_a, status="published")
    usage.rate(district.student_a, resource, 5, "讲得清楚")
    usage.rate(district.teacher_b, resource, 4, "可以用在复习课")
    db.session.commit()
    for username, pupil_shown in (("student.b", "林同学"), ("teacher.b", "林同学"), ("admin.b", "林同学"),
                                  ("teacher.a", "林诗琪"), ("admin.a", "林诗琪"), ("student.a", "林诗琪"),
                                  ("admin", "林诗琪")):
        login(client, username)
        page = client.get(f"/resources/{resource.id}").get_data(as_text=True)
        assert f"<strong>{pupil_shown}</strong>" in page and "<strong>欧阳明</strong>" in page, username  # teachers: whole
        if pupil_shown == "林同学":
            assert "林诗琪" not in page, username
        client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
