"""The resource policy as one table: state × role × action, own school against another school.

Every resource here is owned by teacher.a of school A. "reviewer" is a teacher of school B on the
resource's district panel; "reviewer.a" is a reviewer from school A itself (never on its panel).
"""
import pytest

from reslib.extensions import db
from reslib.models import ReviewAssignment
from reslib.permissions import can
from reslib.testing import add_resource

ROLES = ("teacher.a", "student.a", "admin.a", "teacher.b", "student.b", "admin.b", "reviewer", "reviewer.a", "admin")
STATES = ("draft", "submitted", "school_approved", "district_review", "published", "returned", "rejected", "withdrawn")
EVERYONE = set(ROLES)
SCHOOL_A = {"teacher.a", "student.a", "admin.a", "reviewer.a", "admin"}  # members of the owner's school, and the district
OWNER_AND_SCHOOL_STAFF = {"teacher.a", "admin.a", "admin"}

# action: {state: roles allowed}; a state not listed allows no one.
TABLE = {
    "resource.view": {
        "draft": {"teacher.a", "admin"},
        "submitted": OWNER_AND_SCHOOL_STAFF,
        "school_approved": SCHOOL_A,
        "district_review": OWNER_AND_SCHOOL_STAFF | {"reviewer"},
        "published": EVERYONE,
        "returned": OWNER_AND_SCHOOL_STAFF,
        "rejected": OWNER_AND_SCHOOL_STAFF,
        "withdrawn": OWNER_AND_SCHOOL_STAFF,
    },
    "resource.edit": {"draft": {"teacher.a"}, "returned": {"teacher.a"}},
    "resource.new_version": {"school_approved": {"teacher.a"}, "published": {"teacher.a"}},
    "resource.review_school": {"submitted": {"admin.a", "admin"}},
    "resource.recommend": {"school_approved": {"admin.a", "admin"}},
    "resource.assign_panel": {"district_review": {"admin"}},
    "resource.score": {"district_review": {"reviewer"}},
    "resource.decide": {"district_review": {"admin"}},
    "resource.withdraw": {"school_approved": {"admin.a", "admin"}, "published": {"admin"}},
    "resource.rate": {"school_approved": SCHOOL_A, "published": EVERYONE},
    # the review page: the owner, the owning school's admins, the district and the panel assigned to it;
    # another school's staff and unassigned reviewers never, published or not (tests/hard/test_review_privacy.py)
    "review.view": {
        "draft": {"teacher.a", "admin"},
        "submitted": OWNER_AND_SCHOOL_STAFF,
        "school_approved": OWNER_AND_SCHOOL_STAFF,
        "district_review": OWNER_AND_SCHOOL_STAFF | {"reviewer"},
        "published": OWNER_AND_SCHOOL_STAFF,
        "returned": OWNER_AND_SCHOOL_STAFF,
        "rejected": OWNER_AND_SCHOOL_STAFF,
        "withdrawn": OWNER_AND_SCHOOL_STAFF,
    },
}


@pytest.fixture
def people(district):
    reviewer_a = district.user("reviewer.a", {"reviewer", "teacher"}, district.school_a, identifier="T1900")
    db.session.commit()
    return {
        "teacher.a": district.teacher_a, "student.a": district.student_a, "admin.a": district.admin_a,
        "teacher.b": district.teacher_b, "student.b": district.student_b, "admin.b": district.admin_b,
        "reviewer": district.reviewer, "reviewer.a": reviewer_a, "admin": district.district_admin,
    }


@pytest.mark.parametrize("state", STATES)
def test_state_role_action_table(app, district, people, state):
    resource = add_resource(district.teacher_a, status=state, title=f"{state} 的资源")
    if state == "district_review":
        db.session.add(ReviewAssignment(resource_id=resource.id, reviewer_id=district.reviewer.id))
        db.session.commit()
    wrong = []
    for action, states in TABLE.items():
        allowed = states.get(state, set())
        for role in ROLES:
            if can(people[role], action, resource) != (role in allowed):
                wrong.append(f"{role} {action}: expected {'allowed' if role in allowed else 'refused'}")
    assert not wrong, "\n".join(wrong)


def test_an_unassigned_reviewer_sees_nothing_under_review(app, district, people):
    resource = add_resource(district.teacher_a, status="district_review")
    assert not can(district.reviewer, "resource.view", resource)
    assert not can(district.reviewer, "resource.score", resource)


def test_disabled_and_pending_accounts_can_do_nothing(app, district):
    resource = add_resource(district.teacher_a, status="published")
    district.student_b.status = "disabled"
    db.session.commit()
    for action in TABLE:
        assert not can(district.student_b, action, resource)
        assert not can(district.pending_a, action, resource)
