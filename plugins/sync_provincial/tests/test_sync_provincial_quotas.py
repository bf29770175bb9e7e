"""A round's recommendation quotas: the grid, the district admin's edits, their validation and their audit trail."""
import re

import pytest
from sqlalchemy import func, select

from plugins.sync_provincial import rounds, service
from reslib import national as taxonomy
from plugins.sync_provincial.models import RecommendationQuota, RecommendationRound
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AuditEvent, Unit, User
from reslib.testing import login, post_form



@pytest.fixture
def units(district):
    """东城片区 (two schools), 西城片区 (one) and 南湖新区, a unit with no school yet."""
    db.session.add(Unit(name="南湖新区"))
    db.session.commit()
    new_round()
    return {unit.name: unit for unit in db.session.scalars(select(Unit))}


def new_round(title="2025 年专题资源推荐") -> RecommendationRound:
    return rounds.save_round(User.query.filter_by(username="admin").one(), None, {
        "title": title, "platform": "国家中小学智慧教育平台", "year": "2025", "sections": taxonomy.sections(),
        "min_per_section": "10", "deadline": "2025-07-04"})


def the_round() -> RecommendationRound:
    return db.session.scalars(select(RecommendationRound).order_by(RecommendationRound.id)).first()


def page_url() -> str:
    return f"/provincial/rounds/{the_round().id}/quotas"


def stored(round_=None):
    round_ = round_ or the_round()
    return {(r.unit.name, r.section): r.quota
            for r in db.session.scalars(select(RecommendationQuota).where(RecommendationQuota.round_id == round_.id))}


def quota_events():
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sync_provincial.quotas_set")).all()


def test_table_lists_every_unit_and_section_with_zero_for_unset_cells_and_totals(district, units):
    east, west = units["东城片区"], units["西城片区"]
    service.set_quotas(district.district_admin, the_round(), {(east.id, "德育"): 5, (east.id, "劳动教育"): 3,
                                                       (west.id, "德育"): 2, (west.id, "教改经验"): 1})
    table = service.quota_table(the_round())
    assert table.sections == taxonomy.sections()
    assert [row.unit.name for row in table.rows] == sorted(units)  # by name, the unit without schools too
    by_unit = {row.unit.name: row for row in table.rows}
    assert by_unit["东城片区"].quotas == [5, 3, 0, 0, 0, 0] and by_unit["东城片区"].total == 8
    assert by_unit["西城片区"].quotas == [2, 0, 0, 0, 0, 1] and by_unit["西城片区"].total == 3
    assert by_unit["南湖新区"].quotas == [0] * 6 and by_unit["南湖新区"].total == 0
    assert table.section_totals == [7, 3, 0, 0, 0, 1]
    assert table.total == 11

    other_round = service.quota_table(new_round("另一次推荐"))
    assert other_round.total == 0 and all(row.quotas == [0] * 6 for row in other_round.rows)


@pytest.mark.parametrize("value, reason", [
    (-1, "名额不能是负数"),
    ("-3", "名额不能是负数"),
    ("abc", "“abc”不是整数"),
    ("2.5", "“2.5”不是整数"),
    (1000, "名额不能超过 999"),
    ("1000", "名额不能超过 999"),
])
def test_bad_values_are_refused_naming_unit_and_section_and_nothing_is_saved(district, units, value, reason):
    east, west = units["东城片区"], units["西城片区"]
    with pytest.raises(service.QuotaError) as caught:
        service.set_quotas(district.district_admin, the_round(), {(west.id, "德育"): 4, (east.id, "课后服务"): value})
    assert caught.value.message == f"东城片区 · 课后服务：{reason}"
    assert set(caught.value.cells) == {(east.id, "课后服务")}
    assert stored() == {}
    assert quota_events() == []


def test_empty_cells_count_as_zero_and_full_width_digits_are_read(district, units):
    east = units["东城片区"]
    service.set_quotas(district.district_admin, the_round(), {(east.id, "德育"): "５", (east.id, "课后服务"): " 12 "})
    assert stored() == {("东城片区", "德育"): 5, ("东城片区", "课后服务"): 12}
    service.set_quotas(district.district_admin, the_round(), {(east.id, "德育"): ""})
    assert stored()[("东城片区", "德育")] == 0


def test_setting_a_cell_again_updates_the_one_row(district, units):
    east = units["东城片区"]
    admin = district.district_admin
    assert service.set_quotas(admin, the_round(), {(east.id, "德育"): 5}) == 1
    assert service.set_quotas(admin, the_round(), {(east.id, "德育"): 7}) == 1
    rows = db.session.scalars(select(RecommendationQuota)).all()
    assert len(rows) == 1
    assert (rows[0].quota, rows[0].round_id, rows[0].updated_by_id) == (7, the_round().id, admin.id)
    assert service.set_quotas(admin, new_round("另一次推荐"), {(east.id, "德育"): 4}) == 1  # another round is its own cell
    assert db.session.scalar(select(func.count()).select_from(RecommendationQuota)) == 2


def test_each_save_is_audited_with_what_changed(district, units):
    east, west = units["东城片区"], units["西城片区"]
    admin = district.district_admin
    service.set_quotas(admin, the_round(), {(east.id, "德育"): 5, (west.id, "家庭教育"): 2, (west.id, "德育"): 0})
    service.set_quotas(admin, the_round(), {(east.id, "德育"): 3})
    first, second = quota_events()
    assert (first.actor_name, first.target, first.result) == ("admin", f"round:{the_round().id}", "ok")
    assert "东城片区·德育: 0→5" in first.detail and "西城片区·家庭教育: 0→2" in first.detail
    assert "西城片区·德育" not in first.detail  # a zero that was already zero is no change
    assert second.detail == "东城片区·德育: 5→3"


def test_saving_without_changes_writes_nothing(district, units):
    east = units["东城片区"]
    service.set_quotas(district.district_admin, the_round(), {(east.id, "德育"): 5})
    assert service.set_quotas(district.district_admin, the_round(), {(east.id, "德育"): "5", (east.id, "劳动教育"): ""}) == 0
    assert len(quota_events()) == 1


def test_unknown_unit_or_section_is_refused(district, units):
    east = units["东城片区"]
    with pytest.raises(service.QuotaError):
        service.set_quotas(district.district_admin, the_round(), {(east.id, "课程教学"): 1})
    with pytest.raises(service.QuotaError):
        service.set_quotas(district.district_admin, the_round(), {(99999, "德育"): 1})
    assert stored() == {}


@pytest.mark.parametrize("username", ["admin.a", "reviewer", "teacher.a", "student.a"])
def test_only_the_district_admin_may_set_quotas(district, units, username):
    user = db.session.scalar(select(User).where(User.username == username))
    with pytest.raises(ReslibError) as caught:
        service.set_quotas(user, the_round(), {(units["东城片区"].id, "德育"): 5})
    assert caught.value.status == 403
    assert stored() == {}


# --- the page ---------------------------------------------------------------------------------

def cell(unit, section):
    return f"q-{unit.id}-{taxonomy.sections().index(section)}"


def input_value(page, name):
    match = re.search(rf'<input type="number" name="{name}" value="([^"]*)"', page)
    assert match, f"no input {name}"
    return match.group(1)


def test_the_grid_shows_a_number_input_per_unit_and_section(client, district, units):
    service.set_quotas(district.district_admin, the_round(), {(units["西城片区"].id, "教师研修"): 4})
    login(client, "admin")
    page = client.get(page_url()).get_data(as_text=True)
    assert "推荐名额分配表" in page and "2025 年专题资源推荐" in page
    for unit in units.values():
        assert unit.name in page
        for section in taxonomy.sections():
            assert input_value(page, cell(unit, section)) == ("4" if (unit.name, section) == ("西城片区", "教师研修") else "0")


def test_posting_the_form_saves_the_grid_and_shows_the_totals(client, district, units):
    east, west = units["东城片区"], units["西城片区"]
    login(client, "admin")
    url = page_url()
    response = post_form(client, url, {cell(east, "德育"): "5", cell(east, "劳动教育"): "3",
                                       cell(west, "德育"): "2", cell(west, "课后服务"): ""}, token_page=url)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(url)
    assert stored() == {("东城片区", "德育"): 5, ("东城片区", "劳动教育"): 3, ("西城片区", "德育"): 2}

    page = client.get(url).get_data(as_text=True)
    assert "已保存推荐名额，修改了 3 处。" in page
    assert input_value(page, cell(east, "德育")) == "5"
    assert re.search(r"东城片区</th>.*?<strong>8</strong>", page, re.S)  # the unit's total
    assert re.search(r"<tfoot>.*?<td class=\"num\">7</td>.*?<strong>10</strong>", page, re.S)  # 德育 and overall


def test_a_bad_cell_is_marked_the_typed_values_kept_and_nothing_saved(client, district, units):
    east, west = units["东城片区"], units["西城片区"]
    login(client, "admin")
    url = page_url()
    response = post_form(client, url, {cell(east, "德育"): "-3", cell(west, "德育"): "4",
                                       cell(west, "家庭教育"): "很多"}, token_page=url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "东城片区 · 德育：名额不能是负数" in page
    assert "西城片区 · 家庭教育：“很多”不是整数" in page
    assert input_value(page, cell(east, "德育")) == "-3"
    assert input_value(page, cell(west, "德育")) == "4"
    assert input_value(page, cell(west, "家庭教育")) == "很多"
    assert page.count('aria-invalid="true"') == 2
    assert stored() == {}


def test_a_post_without_the_csrf_token_is_refused(client, district, units):
    login(client, "admin")
    response = client.post(page_url(), data={cell(units["东城片区"], "德育"): "5"})
    assert response.status_code == 400
    assert stored() == {}


@pytest.mark.parametrize("username", ["admin.a", "reviewer", "teacher.a", "student.a"])
def test_others_get_the_no_permission_page(client, district, units, username):
    login(client, username)
    response = client.get(page_url())
    assert response.status_code == 403
    assert "没有权限" in response.get_data(as_text=True)
    response = post_form(client, page_url(), {cell(units["东城片区"], "德育"): "5"},
                         token_page="/provincial/taxonomy")
    assert response.status_code == 403
    assert stored() == {}
