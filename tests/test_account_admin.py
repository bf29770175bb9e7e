"""Account lifecycle by admins: disable, enable, transfer, roles; and what each admin may see."""
from sqlalchemy import select

from reslib.extensions import db
from reslib.models import AuditEvent, User
from reslib.services import accounts
from reslib.testing import at_once, login, post_form


def reload(user):
    db.session.expire_all()
    return db.session.get(User, user.id)


def test_disable_needs_a_reason_and_enable_restores(client, district):
    login(client, "admin.a")
    post_form(client, f"/admin/accounts/{district.teacher_a.id}/disable", {"reason": ""})
    assert reload(district.teacher_a).status == "active"
    post_form(client, f"/admin/accounts/{district.teacher_a.id}/disable", {"reason": "调离"})
    assert reload(district.teacher_a).status == "disabled"
    post_form(client, f"/admin/accounts/{district.teacher_a.id}/enable")
    assert reload(district.teacher_a).status == "active"


def test_of_two_admins_deciding_one_registration_at_once_exactly_one_is_taken(app, district):
    second_admin = district.user("admin.a2", {"school_admin", "teacher"}, district.school_a, identifier="T1902")
    db.session.commit()

    def decision(admin_id, decide):
        def prepare():
            admin, applicant = db.session.get(User, admin_id), db.session.get(User, district.pending_a.id)
            assert applicant.status == "pending"
            return lambda: decide(admin, applicant)
        return prepare

    outcomes = at_once(app, {
        "verified": decision(district.admin_a.id, accounts.verify),
        "rejected": decision(second_admin.id, lambda admin, applicant: accounts.reject(admin, applicant, "学号不符")),
    })
    assert sorted(outcomes.values()) == ["refused", "taken"], outcomes
    taken = next(action for action, outcome in outcomes.items() if outcome == "taken")
    assert reload(district.pending_a).status == {"verified": "active", "rejected": "rejected"}[taken]
    audited = db.session.scalars(select(AuditEvent.action).where(AuditEvent.target == "account:pending.a")).all()
    assert audited == [f"account.{taken}"]


def test_admin_cannot_disable_themselves(client, district):
    login(client, "admin")
    page = client.get(post_form(client, f"/admin/accounts/{district.district_admin.id}/disable",
                                {"reason": "test"}).headers["Location"]).get_data(as_text=True)
    assert "不能停用自己的账号" in page and reload(district.district_admin).status == "active"


def test_school_admin_cannot_touch_district_staff_or_other_admins(client, district):
    login(client, "admin.b")
    assert client.get(f"/admin/accounts/{district.reviewer.id}").status_code == 403  # a reviewer in B
    assert post_form(client, f"/admin/accounts/{district.admin_a.id}/reset-password").status_code == 403


def test_transfer_moves_the_person_and_is_audited(client, district):
    login(client, "admin")
    post_form(client, f"/admin/accounts/{district.student_a.id}/transfer", {"school_id": district.school_c.id})
    assert reload(district.student_a).school_id == district.school_c.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.transferred"))
    assert event.detail == "第一实验小学 → 光明小学" and event.school_id == district.school_c.id


def test_transfer_refuses_a_number_already_used_in_the_new_school(client, district):
    login(client, "admin")
    clash = district.user("clash", {"student"}, district.school_b, identifier="S1001")
    db.session.commit()
    response = post_form(client, f"/admin/accounts/{district.student_a.id}/transfer", {"school_id": district.school_b.id})
    assert "本校已有使用这个学号或工号的账号" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert reload(district.student_a).school_id == district.school_a.id and clash.id


def test_roles_are_granted_by_the_district_only(client, district):
    login(client, "admin")
    post_form(client, f"/admin/accounts/{district.teacher_a.id}/roles", {"roles": ["teacher", "reviewer"]})
    assert reload(district.teacher_a).roles == {"teacher", "reviewer"}
    school_admin = client.application.test_client()
    login(school_admin, "admin.a")
    assert post_form(school_admin, f"/admin/accounts/{district.teacher_a.id}/roles", {"roles": ["district_admin"]}).status_code == 403


def test_district_staff_without_school_cannot_be_given_school_roles(client, district):
    login(client, "admin")
    staff = district.user("staff", {"reviewer"}, None)
    db.session.commit()
    post_form(client, f"/admin/accounts/{staff.id}/roles", {"roles": ["student"]})
    assert reload(staff).roles == {"reviewer"}


def test_district_dashboard_counts_schools_and_pending(client, district):
    login(client, "admin")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "全区概况" in page and "第一实验小学" in page and "光明小学" in page


def test_school_dashboard_shows_only_own_school(client, district):
    login(client, "admin.a")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "第一实验小学 账号" in page and "全区概况" not in page


def test_student_dashboard_shows_own_profile_only(client, district):
    login(client, "student.a")
    page = client.get("/dashboard").get_data(as_text=True)
    assert "我的信息" in page and "账号管理" not in page and "全区概况" not in page


def test_export_neutralises_formula_cells(client, district):
    from io import BytesIO

    from openpyxl import load_workbook

    district.teacher_a.real_name = "=HYPERLINK(\"http://x\")"  # as if it slipped in through an old import
    db.session.commit()
    login(client, "admin.a")
    response = client.get("/admin/accounts/export")
    assert response.headers["Content-Disposition"].startswith("attachment")
    names = [row[0] for row in load_workbook(BytesIO(response.data)).active.iter_rows(min_row=2, values_only=True)]
    assert "'=HYPERLINK(\"http://x\")" in names
