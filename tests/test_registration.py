"""Real-name registration (统一实名注册) and verification by the school."""
import io

from openpyxl import Workbook
from sqlalchemy import select

from reslib.extensions import db
from reslib.models import AuditEvent, RosterEntry, User
from reslib.testing import PASSWORD, csrf_token, login, post_form

FORM = {
    "real_name": "阿依古丽·买买提", "role": "student", "identifier": "S1234", "id_number": "",
    "username": "ayiguli", "password": PASSWORD, "confirm": PASSWORD, "agree": "y",
}


def register(client, school, **changes):
    data = {**FORM, "school_id": school.id, **changes}
    return client.post("/register", data={"csrf_token": csrf_token(client, "/register"), **data})


def test_registration_waits_for_the_school_and_cannot_sign_in_yet(client, district):
    page = register(client, district.school_a).get_data(as_text=True)
    assert "等待学校审核" in page
    user = db.session.scalar(select(User).where(User.username == "ayiguli"))
    assert user.status == "pending" and user.real_name == "阿依古丽·买买提" and user.roles == {"student"}
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": "ayiguli", "password": PASSWORD})
    assert response.status_code == 403 and "等待学校管理员审核" in response.get_data(as_text=True)


def test_registration_matching_the_roster_is_verified_at_once(client, district):
    db.session.add(RosterEntry(school_id=district.school_a.id, identifier="S1234", real_name="阿依古丽·买买提", role="student"))
    db.session.commit()
    assert "账号已开通" in register(client, district.school_a).get_data(as_text=True)
    login(client, "ayiguli")
    assert "你好，阿依古丽·买买提" in client.get("/dashboard").get_data(as_text=True)


def test_roster_name_mismatch_still_needs_review(client, district):
    db.session.add(RosterEntry(school_id=district.school_a.id, identifier="S1234", real_name="别人", role="student"))
    db.session.commit()
    register(client, district.school_a)
    assert db.session.scalar(select(User.status).where(User.username == "ayiguli")) == "pending"


def test_wrong_check_digit_is_shown_next_to_the_field_and_input_kept(client, district):
    page = register(client, district.school_a, id_number="110105194912310021").get_data(as_text=True)
    assert "身份证号码无效" in page
    assert 'value="阿依古丽·买买提"' in page  # what the user typed is kept
    assert db.session.scalar(select(User).where(User.username == "ayiguli")) is None


def test_valid_national_id_is_stored_masked_never_in_clear(client, district):
    register(client, district.school_a, id_number="11010519491231002x")
    user = db.session.scalar(select(User).where(User.username == "ayiguli"))
    assert user.id_number_masked == "110***********002X"
    assert "11010519491231002X" not in (user.id_number_hash or "")
    dumped = " ".join(str(v) for row in db.session.execute(select(User.__table__)).all() for v in row)
    assert "11010519491231002X" not in dumped.upper()


def test_duplicate_registrations_are_refused(client, district):
    register(client, district.school_a, id_number="11010519491231002X")
    again = register(client, district.school_a, username="other1").get_data(as_text=True)
    assert "本校已有使用这个学号或工号的账号" in again
    same_id = register(client, district.school_a, username="other2", identifier="S9999", id_number="11010519491231002X")
    assert "这个身份证号码已经注册过账号" in same_id.get_data(as_text=True)
    taken = register(client, district.school_a, username="teacher.a", identifier="S7777").get_data(as_text=True)
    assert "用户名已被使用" in taken
    assert db.session.scalar(select(db.func.count()).select_from(User).where(User.real_name == "阿依古丽·买买提")) == 1


def test_weak_password_and_mismatch_are_explained(client, district):
    page = register(client, district.school_a, password="12345678", confirm="12345679").get_data(as_text=True)
    assert "两次输入的密码不一致" in page


def test_same_student_number_may_exist_in_another_school(client, district):
    register(client, district.school_a)
    page = register(client, district.school_b, username="ayiguli2").get_data(as_text=True)
    assert "等待学校审核" in page


def test_school_admin_verifies_own_school_only(client, district):
    login(client, "admin.a")
    queue = client.get("/admin/verifications").get_data(as_text=True)
    assert district.pending_a.username in queue and district.pending_b.username not in queue
    assert post_form(client, f"/admin/accounts/{district.pending_b.id}/verify").status_code == 403
    response = post_form(client, f"/admin/accounts/{district.pending_a.id}/verify")
    assert response.status_code == 302
    db.session.expire_all()
    assert district.pending_a.status == "active" and district.pending_a.verified_by_id == district.admin_a.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "account.verified")).actor_name == "admin.a"


def test_rejection_needs_a_reason_which_the_applicant_then_sees(client, district):
    login(client, "admin.a")
    post_form(client, f"/admin/accounts/{district.pending_a.id}/reject", {"reason": ""})
    db.session.expire_all()
    assert district.pending_a.status == "pending"
    post_form(client, f"/admin/accounts/{district.pending_a.id}/reject", {"reason": "学号与学籍不符"})
    db.session.expire_all()
    assert district.pending_a.status == "rejected"
    other = client.application.test_client()
    response = other.post("/login", data={"csrf_token": csrf_token(other), "username": "pending.a", "password": PASSWORD})
    assert "学号与学籍不符" in response.get_data(as_text=True)


def roster_xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["姓名", "学号/工号", "身份"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_roster_upload_reports_each_bad_row_and_imports_nothing(client, district):
    login(client, "admin.a")
    data = roster_xlsx([["李明", 2023001, "学生"], ["", "S2", "学生"], ["王芳", "S3", "校长"], ["赵六", 2023001, "学生"]])
    response = client.post("/admin/roster", data={"csrf_token": csrf_token(client, "/admin/roster"),
                                                  "file": (io.BytesIO(data), "花名册.xlsx")}, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert "第 3 行：" in page and "第 4 行：" in page and "第 5 行：" in page and "第 2 行：" not in page
    assert "没有导入任何内容" in page
    assert db.session.scalar(select(db.func.count()).select_from(RosterEntry)) == 0


def test_roster_upload_verifies_matching_pending_accounts_and_is_idempotent(client, district):
    login(client, "admin.a")
    name = district.pending_a.real_name
    data = roster_xlsx([[name, "S1999", "学生"], ["李明", 2023001, "学生"]])

    def upload():
        return client.post("/admin/roster", data={"csrf_token": csrf_token(client, "/admin/roster"),
                                                  "file": (io.BytesIO(data), "roster.xlsx")}, content_type="multipart/form-data")

    assert "自动通过审核 1 个账号" in upload().get_data(as_text=True)
    db.session.expire_all()
    assert district.pending_a.status == "active"
    assert db.session.scalar(select(RosterEntry.identifier).where(RosterEntry.real_name == "李明")) == "2023001"
    second = upload().get_data(as_text=True)
    assert "新增 0 行，更新 0 行" in second
    assert db.session.scalar(select(db.func.count()).select_from(RosterEntry)) == 2


def test_roster_csv_in_gbk_as_excel_saves_it(client, district):
    login(client, "admin.a")
    data = "姓名,学号,身份\n张三,S77,学生\n".encode("gb18030")
    response = client.post("/admin/roster", data={"csrf_token": csrf_token(client, "/admin/roster"),
                                                  "file": (io.BytesIO(data), "roster.csv")}, content_type="multipart/form-data")
    assert "导入完成" in response.get_data(as_text=True)
    assert db.session.scalar(select(RosterEntry.real_name).where(RosterEntry.identifier == "S77")) == "张三"


def test_roster_of_another_school_is_refused(client, district):
    login(client, "admin.a")
    response = client.post("/admin/roster", data={"csrf_token": csrf_token(client, "/admin/roster"),
                                                  "school_id": district.school_b.id,
                                                  "file": (io.BytesIO(roster_xlsx([["李明", "S1", "学生"]])), "r.xlsx")},
                           content_type="multipart/form-data")
    # A school admin's upload always goes to their own school, whatever the form says.
    assert db.session.scalar(select(RosterEntry.school_id)) == district.school_a.id
    assert response.status_code == 200
