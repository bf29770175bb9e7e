"""The reslib command: what operators and scripts rely on."""
from sqlalchemy import select

from reslib.extensions import db
from reslib.models import AuditEvent, Resource, School, User
from reslib.services.demo import DEMO_PASSWORD
from reslib.testing import login


def test_users_create_makes_a_verified_account_that_can_sign_in(runner, district):
    result = runner.invoke(args=["users", "create", "--username", "Zhang.Wei", "--password", "Chalk#Board77",
                                 "--name", "张伟", "--role", "teacher", "--school", "第一实验小学"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "zhang.wei"))
    assert user.status == "active" and user.roles == {"teacher"} and user.school.name == "第一实验小学"
    assert db.session.scalar(select(AuditEvent.actor_name).where(AuditEvent.action == "account.created")) == "operator"
    client = runner.app.test_client()
    login(client, "zhang.wei", "Chalk#Board77")


def test_users_create_explains_bad_input(runner, district):
    weak = runner.invoke(args=["users", "create", "--username", "li", "--password", "Chalk#Board77", "--name", "李四",
                               "--role", "teacher", "--school", "第一实验小学"])
    assert weak.exit_code != 0 and "用户名" in weak.output
    no_school = runner.invoke(args=["users", "create", "--username", "lisi", "--password", "Chalk#Board77",
                                    "--name", "李四", "--role", "student", "--school", "不存在的学校"])
    assert no_school.exit_code != 0 and "没有名为" in no_school.output


def test_users_import_and_list(runner, district, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(f"姓名,学号,身份\n{district.pending_a.real_name},S1999,学生\n", encoding="utf-8")
    result = runner.invoke(args=["users", "import", str(roster), "--school", "第一实验小学"])
    assert result.exit_code == 0 and "通过审核 1" in result.output
    listing = runner.invoke(args=["users", "list", "--school", "第一实验小学", "--status", "active"]).output
    assert "pending.a" in listing and "student.b" not in listing


def test_users_import_with_errors_changes_nothing(runner, district, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("姓名,学号,身份\n李明,S1,学生\n王芳,,学生\n", encoding="utf-8")
    result = runner.invoke(args=["users", "import", str(roster), "--school", "第一实验小学"])
    assert result.exit_code != 0 and "第 3 行" in result.output


def test_schools_import_is_idempotent_and_list_shows_units(runner, app, tmp_path):
    sheet = tmp_path / "schools.csv"
    sheet.write_text("学校名称,所属单位,学校代码\n江南小学,江南片区,J01\n北山中学,北山片区,B09\n", encoding="utf-8")
    assert runner.invoke(args=["schools", "import", str(sheet)]).exit_code == 0
    again = runner.invoke(args=["schools", "import", str(sheet)])
    assert "新增 0" in again.output
    assert db.session.scalar(select(db.func.count()).select_from(School)) == 2
    assert "J01\t江南小学\t江南片区" in runner.invoke(args=["schools", "list"]).output


def test_schools_import_reports_duplicate_codes(runner, app, tmp_path):
    sheet = tmp_path / "schools.csv"
    sheet.write_text("学校名称,所属单位,学校代码\n江南小学,江南片区,J01\n北山中学,,J02\n西湖小学,江南片区,J01\n", encoding="utf-8")
    result = runner.invoke(args=["schools", "import", str(sheet)])
    assert result.exit_code != 0 and "第 3 行" in result.output and "第 4 行" in result.output


def test_demo_loads_a_district_once_and_keeps_data_on_rerun(runner, app):
    first = runner.invoke(args=["demo", "--if-empty"])
    assert first.exit_code == 0 and DEMO_PASSWORD in first.output and "dc01.admin" in first.output
    things = first.output.split("可以先试试：")[1]
    assert [line.split(".")[0].strip() for line in things.strip().splitlines()] == ["1", "2", "3"]
    assert "古诗" in things and "年度优秀微课评比" in things  # the third is the awards plugin's competition
    schools = db.session.scalars(select(School)).all()
    assert len(schools) >= 5 and len({s.unit_id for s in schools}) >= 2
    roles = set().union(*(u.roles for u in db.session.scalars(select(User))))
    assert {"district_admin", "school_admin", "teacher", "student", "reviewer"} <= roles
    count = db.session.scalar(select(db.func.count()).select_from(User))
    second = runner.invoke(args=["demo", "--if-empty"])
    assert second.exit_code == 0 and "保留原样" in second.output
    assert "年度优秀微课评比" not in second.output  # plugins add demo data once, never to a district's own
    assert db.session.scalar(select(db.func.count()).select_from(User)) == count
    assert runner.invoke(args=["demo"]).exit_code != 0  # never loads over real data


def test_demo_accounts_sign_in_to_resources_that_went_through_the_real_workflow(runner, app):
    from reslib.services import review, usage

    assert runner.invoke(args=["demo"]).exit_code == 0
    client = app.test_client()
    login(client, "dc01.admin", DEMO_PASSWORD)
    assert "待审核账号" in client.get("/dashboard").get_data(as_text=True)

    resources = db.session.scalars(select(Resource).order_by(Resource.id)).all()
    assert {r.status for r in resources} == {"published", "school_approved", "submitted"}
    for resource in resources:
        steps = [decision.action for decision in review.history(resource)]
        failed = [finding["message"] for finding in review.checks_for(resource, resource.owner) if not finding["ok"]]
        assert resource.processing == "done" and not failed, (resource.title, failed)
        if resource.status == "published":
            # Newest first: submitted, approved and recommended by its school, scored by a panel, published.
            assert steps == ["publish", "assign_panel", "approve_and_recommend", "submit"], steps
            panel = review.panel_summary(resource)
            assert panel.complete and len(panel.assignments) == 2 and resource.grade == panel.grade
            assert all(a.reviewer.school_id != resource.school_id for a in panel.assignments)
            assert usage.counts(resource)["downloads"] > 0 and usage.rating_summary(resource)[1] > 0


def test_the_readmes_search_examples_work_on_the_demo_district(runner, app):
    """A newcomer tries what the README says; each `typed` suggests what it names."""
    import re
    from pathlib import Path

    from reslib.services import search

    assert runner.invoke(args=["demo"]).exit_code == 0
    app.extensions["reslib.queue"].run_pending()  # the worker indexes what the demo published
    readme = Path(app.root_path).parent.joinpath("README.md").read_text(encoding="utf-8")
    examples = re.findall(r"`([a-z]+)` suggests (\S+?)[,)]", readme.replace("\n  ", " "))
    assert len(examples) >= 2, examples
    student = db.session.scalar(select(User).where(User.username == "dc01.s1"))
    for typed, title in examples:
        assert title in search.suggest(student, typed), (typed, title)
    for words, title in (("古诗", "静夜思 古诗诵读"), ("实验", "光的折射 实验")):  # what `reslib demo` says to try
        assert title in [hit.card.resource.title for hit in search.search(student, words).items], (words, title)
