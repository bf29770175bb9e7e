"""The audit log: what is recorded, who may read it, and that nobody can change it."""
import pytest
from flask_migrate import upgrade
from flask import session
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from reslib.extensions import db
from reslib.models import AuditEvent
from reslib.models import AppendOnlyViolation
from reslib.testing import PASSWORD, csrf_token, login, make_test_app, post_form, running


def test_admin_actions_are_recorded_with_actor_address_and_result(client, district):
    login(client, "admin")
    post_form(client, f"/admin/accounts/{district.teacher_a.id}/roles", {"roles": ["teacher", "reviewer"]})
    client.get(f"/admin/accounts/export?school_id={district.school_a.id}")
    events = {e.action: e for e in db.session.scalars(select(AuditEvent))}
    roles = events["account.roles_changed"]
    assert roles.actor_name == "admin" and roles.address == "127.0.0.1" and roles.result == "ok"
    assert roles.detail == "教师 → 教师、评审专家"  # in words, as the log is read
    assert events["personal_data.exported"].school_id == district.school_a.id


def test_audit_page_names_targets_and_details_in_words(client, district):
    """Stored targets (account:admin, school:3, resource:12, subject:数学) are shown as an admin reads them."""
    from reslib.services import audit
    from reslib.testing import add_resource

    resource = add_resource(district.teacher_a, title="勾股定理微课")
    audit.record("resource.deleted", actor=district.district_admin, target=resource)
    audit.record("taxonomy.added", actor=district.district_admin, target="subject:书法")
    audit.record("points.awarded", actor=district.district_admin, target="competition:7")
    db.session.commit()
    login(client, "admin")
    client.get(f"/admin/accounts/export?school_id={district.school_a.id}")
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "学校 第一实验小学" in page and "账号名单 Excel，" in page
    assert "账号 admin" in page
    assert f"资源 #{resource.id} 勾股定理微课" in page
    assert "学科 书法" in page
    assert "competition:7" in page  # a plugin's kind of target, shown as stored


def test_review_steps_are_recorded_in_words(district):
    from reslib.services import review
    from reslib.testing import add_resource

    resource = add_resource(district.teacher_a, status="submitted")
    review.school_decision(district.admin_a, resource, "approve", "同意入校本库")
    detail = db.session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "review.approve"))
    assert detail == "待学校审核→已入校本库 同意入校本库"


def test_records_are_written_in_the_districts_language_whatever_the_actor_reads(app, client, district):
    """An admin working in English, a failed sign-in on the English login page: the log and the review history
    read the same to every later reader, in the district's language."""
    from reslib.models import ReviewDecision
    from reslib.services import review
    from reslib.testing import ready_resource, second_reviewer, to_district_review

    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    assert client.post("/login", data={"csrf_token": csrf_token(client), "username": "admin",
                                       "password": "wrong"}).status_code == 401
    login(client, "admin")
    post_form(client, f"/admin/accounts/{district.teacher_a.id}/roles", {"roles": ["teacher", "reviewer"]})
    client.get(f"/admin/accounts/export?school_id={district.school_a.id}")
    resource = ready_resource(district.teacher_a)
    to_district_review(district, resource)
    with app.test_request_context():
        session["lang"] = "en"
        review.assign_panel(district.district_admin, resource, [district.reviewer.id, second_reviewer(district).id])
        review.score(district.reviewer, resource, {"导向正确": 18, "科学规范": 18, "教学价值": 27, "技术质量": 18,
                                                   "版权合规": 9}, "设计合理")
    details = {e.action: e.detail for e in db.session.scalars(select(AuditEvent))}
    assert details["login.failed"] == "连续第 1 次失败"
    assert details["account.roles_changed"] == "教师 → 教师、评审专家"
    assert details["personal_data.exported"].startswith("账号名单 Excel，")
    assert details["review.assign_panel"].startswith("区级评审中→区级评审中 评审专家：")
    assert details["review.score"] == "90（导向正确 18，科学规范 18，教学价值 27，技术质量 18，版权合规 9）设计合理"
    note = db.session.scalar(select(ReviewDecision.comment).where(ReviewDecision.action == "assign_panel"))
    assert note.startswith("评审专家：") and "评分截止" in note


def test_imports_refusals_and_plugin_records_are_written_in_the_districts_language(app, client, district):
    """The other places that write a record, each done by someone reading English."""
    from plugins.awards import service as awards
    from reslib.services import accounts, importer, roster
    from test_import import csv_bytes, record

    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    assert client.post("/login", data={"csrf_token": csrf_token(client), "username": "pending.a",
                                       "password": PASSWORD}).status_code == 403
    assert client.post("/login", data={"csrf_token": csrf_token(client), "username": "nobody",
                                       "password": "wrong"}).status_code == 401
    with app.test_request_context():
        session["lang"] = "en"
        pending_name = district.pending_a.real_name
        roster.import_roster(district.admin_a, district.school_a, "花名册.csv",
                             f"姓名,学号,身份\n{pending_name},S1999,学生\n".encode())
        roster.import_schools(district.district_admin, "学校.csv", "学校名称,所属单位,学校代码\n江南小学,江南片区,J01\n".encode())
        roster.add_school(district.district_admin, "北山中学", "北山片区")
        accounts.create_user(username="new.teacher", password="Xy9#kLmn2q", real_name="李新", roles={"teacher"},
                             school_name=district.school_a.name, actor=district.district_admin)
        importer.import_records(district.district_admin, "目录.csv", csv_bytes([record(1)]), library="district")
        competition = awards.create_competition(district.district_admin, "区级优秀课件评比", 2026, "", "3:3:4", 80, None)
        awards.set_status(district.district_admin, competition, "open")
    details = {(e.action, e.detail) for e in db.session.scalars(select(AuditEvent))}
    assert {("login.refused", "待审核"), ("login.failed", "没有这个用户名"),
            ("account.verified", "与学校花名册一致，自动通过"),
            ("roster.imported", "花名册.csv：新增 1，更新 0，自动通过实名审核 1"),
            ("schools.imported", "学校.csv：新增 1，更新 0"), ("schools.imported", "添加 北山中学"),
            ("account.created", "教师"), ("resource.imported", "目录.csv：新增 1，更新 0，未变 0"),
            ("awards.competition_status", "草稿 → 征集中")} <= details


def test_audit_page_filters_by_action(client, district):
    login(client, "admin")
    client.application.test_client().post("/login", data={"username": "x", "password": "y"})
    page = client.get("/admin/audit?action=login").get_data(as_text=True)
    assert "login" in page
    filtered = client.get("/admin/audit?action=personal_data").get_data(as_text=True)
    assert "account:admin" not in filtered


def test_the_app_refuses_to_change_or_delete_audit_events(app, district):
    from reslib.services import audit

    audit.record("account.created", target="x")
    db.session.commit()
    event = db.session.scalar(select(AuditEvent))
    event.detail = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()
    db.session.delete(event)
    with pytest.raises(AppendOnlyViolation):
        db.session.commit()
    db.session.rollback()


def test_the_database_itself_refuses_audit_changes(tmp_path):
    """Migrations install triggers, so even SQL run outside the app cannot rewrite history."""
    app = make_test_app(tmp_path)
    with running(app):
        upgrade(revision="heads")
        db.session.execute(text("INSERT INTO audit_event (at, action, result) VALUES (CURRENT_TIMESTAMP, 'login', 'ok')"))
        db.session.commit()
        for statement in ("UPDATE audit_event SET result = 'denied'", "DELETE FROM audit_event"):
            with pytest.raises(DatabaseError):
                db.session.execute(text(statement))
            db.session.rollback()
        assert db.session.scalar(text("SELECT result FROM audit_event")) == "ok"


def test_plugin_actions_can_be_filtered(client, district):
    from plugins.points import service as points

    points.award(district.district_admin, district.teacher_a, 5, "优秀课件")
    login(client, "admin")
    assert '<option value="points.awarded"' in client.get("/admin/audit").get_data(as_text=True)
    page = client.get("/admin/audit?action=points.awarded").get_data(as_text=True)
    assert "+5 优秀课件" in page and "<code>account.created</code>" not in page
