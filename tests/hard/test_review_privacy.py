"""What one school's staff learn of another school's work through review: defects 1 and 11 of the attacker's test.

1. The duplicate-file check named another school's draft (title, number, state) to a teacher who uploaded the
   same file; it names a twin only to a reader who may see it, and otherwise says that one exists.
2. The review page of a published resource, with the owning school's internal comments in its history, was open
   to every school's admins and reviewers; it is for the owner, the owning school's admins, the panel that scored
   it and the district. The grade stays on the resource's own page for everyone.
"""
import pytest

from reslib.extensions import db
from reslib.services import accounts, review
from reslib.testing import login, ready_resource, second_reviewer, to_district_review

SCORES = {"导向正确": 18, "科学规范": 18, "教学价值": 27, "技术质量": 18, "版权合规": 9}
SAME_BYTES = b"%PDF-1.4 the same lesson, byte for byte"
INTERNAL_COMMENT = "校内意见：第三页的例题与教研组讨论稿不一致"


def page(app, username, path):
    client = app.test_client()
    login(client, username)
    return client.get(path)


def test_a_twin_in_another_schools_draft_is_not_named_to_the_uploader(app, district):
    hidden = ready_resource(district.teacher_b, title="育才中学的未发布讲义", content=SAME_BYTES)
    school_only = ready_resource(district.teacher_b, status="school_approved", title="育才中学校本讲义",
                                 content=SAME_BYTES)
    mine = ready_resource(district.teacher_a, title="我的讲义", content=SAME_BYTES)
    review.submit(district.teacher_a, mine)

    for reader in ("teacher.a", "admin.a"):
        text = page(app, reader, f"/resources/{mine.id}/review").get_data(as_text=True)
        for other in (hidden, school_only):
            assert other.title not in text and f"编号 {other.id}" not in text, reader
        assert "草稿" not in text.split("文件完全相同")[0][-40:]  # no state of the twin either
        assert "资源库中已有与此完全相同的文件（你无权查看）" in text, reader

    district_view = page(app, "admin", f"/resources/{mine.id}/review").get_data(as_text=True)
    assert f"与《{hidden.title}》（编号 {hidden.id}，草稿）文件完全相同" in district_view
    assert f"与《{school_only.title}》（编号 {school_only.id}，已入校本库）文件完全相同" in district_view


def test_a_visible_twin_is_still_named(app, district):
    published = ready_resource(district.teacher_b, status="published", title="区级库里的讲义", content=SAME_BYTES)
    mine = ready_resource(district.teacher_a, title="我的讲义", content=SAME_BYTES)
    text = page(app, "teacher.a", f"/resources/{mine.id}/review").get_data(as_text=True)
    assert f"与《区级库里的讲义》（编号 {published.id}，已入区级库）文件完全相同" in text
    assert "你无权查看" not in text


@pytest.fixture
def published_with_history(district):
    """School A's resource, returned once by its school with an internal comment, then scored by a panel of
    the reviewer (school B) and a reviewer of school C, and published."""
    resource = ready_resource(district.teacher_a, title="勾股定理的证明")
    review.submit(district.teacher_a, resource)
    review.school_decision(district.admin_a, resource, "return", INTERNAL_COMMENT)
    review.submit(district.teacher_a, resource)
    review.school_decision(district.admin_a, resource, "approve_and_recommend")
    other = second_reviewer(district)
    review.assign_panel(district.district_admin, resource, [district.reviewer.id, other.id])
    review.score(district.reviewer, resource, SCORES)
    review.score(other, resource, SCORES)
    review.decide(district.district_admin, resource, "publish")
    assert resource.status == "published" and resource.grade == "excellent"
    return resource


@pytest.mark.parametrize("reader, allowed", [
    ("teacher.a", True),  # the owner
    ("admin.a", True),  # the owning school's admin
    ("reviewer", True),  # on the panel that scored it
    ("admin", True),  # the district
    ("admin.b", False),  # another school's admin
    ("teacher.b", False),
    ("student.a", False),  # a pupil of the same school reads the resource, not its review
])
def test_the_review_page_of_a_published_resource_is_for_its_school_panel_and_district(
        app, district, published_with_history, reader, allowed):
    response = page(app, reader, f"/resources/{published_with_history.id}/review")
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        assert INTERNAL_COMMENT in response.get_data(as_text=True)


def test_another_schools_reviewer_not_on_the_panel_is_refused(app, district, published_with_history):
    outsider = district.user("reviewer.b2", {"reviewer", "teacher"}, district.school_b, identifier="T2002")
    db.session.commit()
    assert page(app, outsider.username, f"/resources/{published_with_history.id}/review").status_code == 403


def test_another_school_sees_the_grade_on_the_resource_page_and_no_workflow(app, district, published_with_history):
    resource_page = page(app, "admin.b", f"/resources/{published_with_history.id}").get_data(as_text=True)
    assert "优" in resource_page
    assert f"/resources/{published_with_history.id}/review" not in resource_page
    assert INTERNAL_COMMENT not in resource_page

    token = accounts.create_token(district.admin_b, "privacy")
    data = app.test_client().get(f"/api/v1/resources/{published_with_history.id}",
                                 headers={"Authorization": f"Bearer {token}"}).get_json()
    assert data["grade"] == "excellent"
    assert "status_reason" not in data and "processing" not in data


def test_the_same_schools_reviewer_does_not_read_its_school_reviews(app, district):
    """A teacher of school A who sits on district panels reviews other schools' work, not the school's own."""
    colleague = district.user("reviewer.a", {"reviewer", "teacher"}, district.school_a, identifier="T1002")
    db.session.commit()
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    assert page(app, colleague.username, f"/resources/{resource.id}/review").status_code == 403
