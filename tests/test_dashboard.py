"""Each person's start page (the reviews and returned resources waiting for them, what is new in the library)
and the list of their own resources, on the web and in the API."""
import re
from datetime import datetime

from reslib.extensions import db
from reslib.services import accounts, review
from reslib.templating import localtime
from reslib.testing import add_resource, login, ready_resource, second_reviewer, to_district_review


def dashboard(app, username) -> str:
    client = app.test_client()
    login(client, username)
    return client.get("/dashboard").get_data(as_text=True)


def section(page: str, section_id: str) -> str:
    """The dashboard card with this id ("" when the page has none)."""
    found = re.search(rf'<section class="card[^"]*" id="{section_id}">(.*?)</section>', page, re.S)
    return found.group(1) if found else ""


def three_of_teacher_a(district):
    """Gives teacher.a a draft, a published resource and one returned with a comment; returns that one."""
    sent_back = ready_resource(district.teacher_a, title="分数的初步认识")
    review.submit(district.teacher_a, sent_back)
    review.school_decision(district.admin_a, sent_back, "return", "请补充教学目标")
    ready_resource(district.teacher_a, title="还在写的草稿")
    add_resource(district.teacher_a, title="已经入库的微课")
    return sent_back


def test_a_teacher_sees_the_resources_sent_back_with_the_reviewers_comment(app, district):
    sent_back = three_of_teacher_a(district)
    client = app.test_client()
    login(client, "teacher.a")
    mine = section(client.get("/dashboard").get_data(as_text=True), "my-resources")
    assert f'href="/resources/{sent_back.id}/edit">分数的初步认识</a>' in mine and "请补充教学目标" in mine
    returned_at = localtime(review.latest_return(sent_back).at)  # Beijing time, as every page shows it
    assert returned_at in client.get(f"/resources/{sent_back.id}/edit").get_data(as_text=True)
    assert "还在写的草稿" not in mine  # only what waits on the teacher is listed by name; the rest is counted
    for status, label in (("draft", "草稿"), ("returned", "退回修改"), ("published", "已入区级库")):
        assert re.search(rf'href="/my/resources\?status={status}">1</a></strong><span>{label}</span>', mine), status


def test_each_reviewing_role_sees_how_many_steps_wait_for_it(app, district):
    waiting = ready_resource(district.teacher_a, title="待学校审核的课件")
    review.submit(district.teacher_a, waiting)
    scoring = ready_resource(district.teacher_a, title="评审中的微课")
    to_district_review(district, scoring)
    review.assign_panel(district.district_admin, scoring, [district.reviewer.id, second_reviewer(district).id])

    school = section(dashboard(app, "admin.a"), "review-work")
    assert re.search(r'href="/review\?stage=submitted">1</a></strong><span>待学校审核</span>', school)
    reviewer = section(dashboard(app, "reviewer"), "review-work")
    assert re.search(r'href="/review\?stage=unscored">1</a></strong><span>待我评分</span>', reviewer)
    other_school = section(dashboard(app, "admin.b"), "review-work")
    assert "没有等你处理的审核任务" in other_school and "stage=" not in other_school

    student = dashboard(app, "student.a")
    assert section(student, "review-work") == "" and section(student, "my-resources") == ""


def test_the_newest_district_resources_are_shown_to_everyone_and_nothing_else(app, district):
    add_resource(district.teacher_b, title="区级库里最早的", published_at=datetime(2025, 1, 1))
    for n in range(4):
        add_resource(district.teacher_b, title=f"新入库资源{n}", published_at=datetime(2026, 3, n + 1))
    add_resource(district.teacher_a, title="本校校本库资源", status="school_approved")

    latest = section(dashboard(app, "student.a"), "latest")
    assert [title for title in re.findall(r'<a href="/resources/\d+">([^<]+)</a>', latest)] == [
        "新入库资源3", "新入库资源2", "新入库资源1", "新入库资源0"]
    assert "本校校本库资源" not in latest  # the district library's, not the school's own


def test_my_resources_lists_one_status_at_a_time_in_local_time(app, client, district):
    draft = ready_resource(district.teacher_a, title="还在写的草稿")
    draft.updated_at = datetime(2026, 3, 1, 20, 30)  # stored in UTC: 04:30 the next morning in Beijing
    add_resource(district.teacher_a, title="已经入库的微课")
    db.session.commit()
    login(client, "teacher.a")

    drafts = client.get("/my/resources?status=draft").get_data(as_text=True)
    assert "还在写的草稿" in drafts and "已经入库的微课" not in drafts and "2026-03-02 04:30" in drafts
    assert 'aria-current="true">草稿（1）</a>' in drafts and "全部（2）" in drafts
    everything = client.get("/my/resources?status=nonsense").get_data(as_text=True)
    assert "还在写的草稿" in everything and "已经入库的微课" in everything
    assert "没有处于“未通过”的资源" in client.get("/my/resources?status=rejected").get_data(as_text=True)


def test_the_api_lists_ones_own_resources_by_status(client, district):
    sent_back = three_of_teacher_a(district)
    add_resource(district.teacher_b, title="别人的资源", status="draft")

    def mine(user, query=""):
        token = accounts.create_token(user, "脚本")
        return client.get(f"/api/v1/me/resources{query}", headers={"Authorization": f"Bearer {token}"})

    everything = mine(district.teacher_a).get_json()
    assert everything["total"] == 3 and everything["counts"] == {"draft": 1, "published": 1, "returned": 1}
    [returned] = mine(district.teacher_a, "?status=returned").get_json()["items"]
    assert (returned["title"], returned["status_reason"]) == ("分数的初步认识", "请补充教学目标")
    assert returned["links"]["edit"] == f"/resources/{sent_back.id}/edit"
    for bad in ("nonsense", "superseded"):
        response = mine(district.teacher_a, f"?status={bad}")
        assert response.status_code == 400 and response.get_json()["error"]["field"] == "status"
    assert [item["title"] for item in mine(district.teacher_b).get_json()["items"]] == ["别人的资源"]
