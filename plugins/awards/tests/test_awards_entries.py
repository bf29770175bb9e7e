"""Entering a competition: eligibility, the window, the limits, duplicates, co-authors, withdrawing, and the
school's pre-selection within its quota; each refusal says why."""
import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from plugins.awards import entries, service
from plugins.awards.models import Entry
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AuditEvent
from reslib.templating import local_today
from reslib.testing import add_resource, login, post_form


def test_a_teacher_enters_a_published_resource_with_a_co_author_from_the_page(client, stage):
    stage.open()
    district = stage.district
    resource = add_resource(district.teacher_a, title="光的折射")
    login(client, "teacher.a")
    path = f"/awards/{stage.competition.id}/enter"
    page = client.get(path).get_data(as_text=True)
    assert "光的折射" in page and "综合" in page
    response = post_form(client, path, {"resource_id": str(resource.id), "category_id": str(stage.category.id),
                                        "co_authors": "admin.a"}, token_page=path)
    assert response.status_code == 302
    entry = db.session.scalar(select(Entry))
    assert [author.user_id for author in entry.authors] == [district.teacher_a.id, district.admin_a.id]
    assert entry.school_id == district.school_a.id
    assert "awards.entered" in db.session.scalars(select(AuditEvent.action)).all()
    detail = client.get(f"/awards/{stage.competition.id}").get_data(as_text=True)
    assert "我的参评作品" in detail and "光的折射" in detail and "撤回" in detail


def refusal(call) -> str:
    with pytest.raises(ReslibError) as caught:
        call()
    return caught.value.message


def test_refusals_name_their_reason(stage):
    stage.open()
    district, competition, category = stage.district, stage.competition, stage.category
    mine = add_resource(district.teacher_a, title="我的微课")
    theirs = add_resource(district.teacher_b, title="别人的微课")
    assert "自己上传的资源" in refusal(lambda: entries.enter(district.teacher_a, competition, theirs, category))
    assert "参评范围" in refusal(lambda: entries.enter(district.student_a, competition,
                                                      add_resource(district.student_a), category))
    assert "没有账号“nobody”" in refusal(lambda: entries.enter(district.teacher_a, competition, mine, category,
                                                               ["nobody"]))
    assert "参评范围" in refusal(lambda: entries.enter(district.teacher_a, competition, mine, category,
                                                      ["student.a"]))
    entries.enter(district.teacher_a, competition, mine, category)
    assert "只能报名一次" in refusal(lambda: entries.enter(district.teacher_a, competition, mine, category))
    assert db.session.query(Entry).count() == 1


def test_limits_per_teacher_authors_and_schools(district):
    district.user("teacher.a2", {"teacher"}, district.school_a)
    competition = service.create_competition(district.district_admin, "限额评比", 2026, per_teacher=1,
                                             max_authors=2, eligible_schools=[str(district.school_a.id)])
    service.set_status(district.district_admin, competition, "open")
    category = competition.categories[0]
    first = add_resource(district.teacher_a, title="一")
    second = add_resource(district.teacher_a, title="二")
    assert "最多 2 位作者" in refusal(lambda: entries.enter(district.teacher_a, competition, first, category,
                                                          ["admin.a", "teacher.a2"]))
    entries.enter(district.teacher_a, competition, first, category, ["admin.a"])
    assert "每人最多报名 1 件" in refusal(lambda: entries.enter(district.teacher_a, competition, second, category))
    # as a co-author admin.a has used their one entry too
    assert "每人最多报名 1 件" in refusal(lambda: entries.enter(district.admin_a, competition,
                                                             add_resource(district.admin_a), category))
    assert "所在学校不在" in refusal(lambda: entries.enter(district.teacher_b, competition,
                                                        add_resource(district.teacher_b), category))


def test_the_window_opens_and_closes(stage):
    competition = stage.competition
    resource = add_resource(stage.district.teacher_a)
    assert "截止征集" in refusal(lambda: entries.enter(stage.district.teacher_a, competition, resource,
                                                     stage.category))  # still a draft
    stage.open()
    today = local_today()
    competition.opens_on = today + timedelta(days=1)
    db.session.commit()
    assert "开始" in refusal(lambda: entries.enter(stage.district.teacher_a, competition, resource, stage.category))
    competition.opens_on, competition.entry_deadline = None, today - timedelta(days=1)
    db.session.commit()
    assert "截止征集" in refusal(lambda: entries.enter(stage.district.teacher_a, competition, resource,
                                                     stage.category))
    competition.entry_deadline = today  # the last day still counts
    db.session.commit()
    assert entries.enter(stage.district.teacher_a, competition, resource, stage.category).id


def test_withdrawing_before_the_deadline_only_by_the_entrant(client, stage):
    stage.open()
    entry = stage.enter(stage.district.teacher_a, "撤回的作品", ["admin.a"])
    assert "只能撤回自己报名" in refusal(lambda: entries.withdraw(stage.district.admin_a, entry))
    login(client, "teacher.a")
    response = post_form(client, f"/awards/entries/{entry.id}/withdraw", token_page=f"/awards/{stage.competition.id}")
    assert response.status_code == 302
    assert db.session.query(Entry).count() == 0
    again = stage.enter(stage.district.teacher_a, "撤回的作品二")
    stage.competition.entry_deadline = local_today() - timedelta(days=1)
    db.session.commit()
    assert "不能再撤回" in refusal(lambda: entries.withdraw(stage.district.teacher_a, again))


def test_the_school_sends_on_entries_within_its_quota_and_exports_the_list(app, client, district):
    competition = service.create_competition(district.district_admin, "校级推荐评比", 2026, school_quota=1)
    service.set_status(district.district_admin, competition, "open")
    category = competition.categories[0]
    first = entries.enter(district.teacher_a, competition, add_resource(district.teacher_a, title="甲作品"), category)
    second = entries.enter(district.admin_a, competition, add_resource(district.admin_a, title="乙作品"), category)
    login(client, "admin.a")
    page = client.get(f"/awards/{competition.id}/school").get_data(as_text=True)
    assert "甲作品" in page and "乙作品" in page and "推荐名额 1 件" in page
    token_page = f"/awards/{competition.id}/school"
    assert post_form(client, f"/awards/entries/{first.id}/select", {"selected": "1"},
                     token_page=token_page).status_code == 302
    response = post_form(client, f"/awards/entries/{second.id}/select", {"selected": "1"}, token_page=token_page)
    assert "推荐满了" in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert (first.selected, second.selected) == (True, False)
    assert [entry.id for entry in entries.judged_entries(competition)] == [first.id]  # only what the school sent on
    export = client.get(f"/awards/{competition.id}/school.xlsx")
    sheet = load_workbook(io.BytesIO(export.data)).active
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["甲作品", "乙作品"]
    # another school's admin sees and changes nothing of school A's
    other = app.test_client()
    login(other, "admin.b")
    assert post_form(other, f"/awards/entries/{second.id}/select", {"selected": "1"},
                     token_page=f"/awards/{competition.id}").status_code == 403
    assert "甲作品" not in other.get(f"/awards/{competition.id}/school").get_data(as_text=True)
