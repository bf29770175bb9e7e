"""The review desk at the size of a real district: the school library only grows, yet the desk, the dashboard
and the API list one page of each stage and load what they show in a fixed number of queries."""
import re

import pytest

from reslib.extensions import db
from reslib.models import ReviewAssignment, User
from reslib.models.base import utcnow
from reslib.services.accounts import create_token
from reslib.testing import add_resource, login, recorded_statements, second_reviewer

PAGE_SIZE = 3


@pytest.fixture
def app_config():
    return {"PAGE_SIZE": PAGE_SIZE}


def school_library(district, count, start=0):
    """``count`` resources of schools A and B approved into their school libraries, numbered from ``start``."""
    for number in range(start, start + count):
        owner = (district.teacher_a, district.teacher_b)[number % 2]
        add_resource(owner, status="school_approved", title=f"校本资源{number:03d}", submitted_at=utcnow())


def scored_by_the_panel(district, count, start=0):
    """``count`` school A resources in district review, scored by a panel of two."""
    panel = [district.reviewer, db.session.get(User, district.reviewer_c_id)]
    for number in range(start, start + count):
        resource = add_resource(district.teacher_a, status="district_review", title=f"区级评审{number:03d}")
        db.session.add_all(ReviewAssignment(resource_id=resource.id, reviewer_id=reviewer.id, total=85,
                                            scored_at=utcnow()) for reviewer in panel)
    db.session.commit()


@pytest.fixture
def staff(app, district):
    district.reviewer_c_id = second_reviewer(district).id
    client = app.test_client()
    login(client, "admin")
    return client


def titles(page: str, prefix: str) -> list[str]:
    return re.findall(rf"<strong>({prefix}\d+)</strong>", page)


def test_the_desk_lists_a_page_of_each_stage_and_links_to_the_rest(staff, district):
    school_library(district, PAGE_SIZE + 2)
    desk = staff.get("/review").get_data(as_text=True)
    assert titles(desk, "校本资源") == ["校本资源000", "校本资源001", "校本资源002"]
    assert 'href="/review?stage=school_approved">查看全部 5 条</a>' in desk

    rest = staff.get("/review?stage=school_approved&page=2").get_data(as_text=True)
    assert titles(rest, "校本资源") == ["校本资源003", "校本资源004"]
    assert "第 2 / 2 页，共 5 条" in rest and 'rel="prev"' in rest


def test_the_desk_and_the_dashboard_cost_the_same_however_long_the_queues(staff, district):
    school_library(district, 2)
    scored_by_the_panel(district, 2)

    def statements(path):
        with recorded_statements() as run:
            assert staff.get(path).status_code == 200
        return len(run)

    before = {path: statements(path) for path in ("/review", "/dashboard", "/review?stage=school_approved")}
    school_library(district, 2 * PAGE_SIZE, start=2)
    scored_by_the_panel(district, 2 * PAGE_SIZE, start=2)
    after = {path: statements(path) for path in before}
    assert after == before
    assert "评分完成，待决定" in staff.get("/review").get_data(as_text=True)


def test_the_api_pages_the_queues_too(app, district, staff):
    school_library(district, PAGE_SIZE + 1)
    token = create_token(district.district_admin, "测试")
    headers = {"Authorization": f"Bearer {token}"}
    first = app.test_client().get("/api/v1/review/queue", headers=headers).json
    second = app.test_client().get("/api/v1/review/queue?stage=school_approved&page=2", headers=headers).json
    assert first["totals"]["school_approved"] == second["totals"]["school_approved"] == PAGE_SIZE + 1
    assert first["counts"]["school_approved"] == PAGE_SIZE + 1
    assert len(first["queues"]["school"]) == PAGE_SIZE and (first["page"], first["per_page"]) == (1, PAGE_SIZE)
    assert [item["resource"]["title"] for item in second["queues"]["school"]] == [f"校本资源{PAGE_SIZE:03d}"]
