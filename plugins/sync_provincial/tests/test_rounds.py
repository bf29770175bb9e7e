"""Recommendation rounds: seed 001's quota table, schools proposing, the district selecting within quotas and only
what meets the standards, the platform's answers announced by the hook, the 推荐表 and the package, the pages."""
import io
import subprocess
import zipfile
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from plugins.sync_provincial import exports, rounds, service
from plugins.sync_provincial.models import Recommendation, RecommendationRound
from reslib import hookimpl
from reslib import national as taxonomy
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import AuditEvent, Unit
from reslib.templating import local_today
from reslib.testing import MINIMAL_PDF, login, post_form, ready_resource

# Seed 001's 推荐名额分配表: each unit's count per category (每类资源不少于), 49 in all.
SEED_001 = {"平江县": 5, "岳阳县": 5, "华容县": 5, "湘阴县": 5, "临湘市": 5, "汨罗市": 5, "岳阳楼区": 5, "云溪区": 3,
            "君山区": 3, "屈原管理区": 2, "岳阳经济技术开发区": 3, "南湖新区": 2, "市直学校": 1}


class Announcements:
    """Stands in for the awards plugin: records each acceptance the hook announces."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def recommendation_accepted(self, selection):
        self.seen.append(selection)


ANNOUNCED = Announcements()


@pytest.fixture
def app_config():
    return {"EXTRA_PLUGINS": [ANNOUNCED]}


@pytest.fixture(autouse=True)
def _forget_announcements():
    ANNOUNCED.seen.clear()


def round_data(**changes) -> dict:
    return {"title": "2022 国家中小学智慧教育平台专题资源", "platform": "国家中小学智慧教育平台", "year": "2022",
            "sections": list(taxonomy.sections()), "min_per_section": "10",
            "deadline": (local_today() + timedelta(days=10)).isoformat(),
            "contact": {"unit": "东昌区教育局", "organiser_contact.name": "刘健华", "organiser_contact.mobile": "8805708"},
            **changes}


@pytest.fixture
def round_(district):
    return rounds.save_round(district.district_admin, None, round_data())


def published(owner, title, **fields):
    """A published resource that meets the national metadata standard (a PDF: no technical clauses)."""
    return ready_resource(owner, title=title, status="published", section="德育", column="爱国主义",
                          content=MINIMAL_PDF + title.encode(), **fields)  # files of their own: no twins


@pytest.fixture
def candidates(district, round_):
    """东城片区 (schools A and B) may select one 德育 resource; each school has one to propose."""
    service.set_quotas(district.district_admin, round_, {(district.school_a.unit_id, "德育"): 1})
    return published(district.teacher_a, "红色家书诵读"), published(district.teacher_b, "家乡的英雄")


def test_seed_001_quota_table_adds_up_to_49_per_category(district, round_):
    db.session.add_all([Unit(name=name) for name in SEED_001])
    db.session.commit()
    units = {unit.name: unit for unit in db.session.scalars(select(Unit))}
    service.set_quotas(district.district_admin, round_, {(units[name].id, section): count
                                                         for name, count in SEED_001.items()
                                                         for section in round_.section_list()})
    table = service.quota_table(round_)
    assert table.section_totals == [49] * 6
    assert {row.unit.name: row.total for row in table.rows if row.unit.name in SEED_001} == \
        {name: count * 6 for name, count in SEED_001.items()}
    assert [(p.section, p.chosen, p.short) for p in rounds.section_progress(round_)] == \
        [(section, 0, 10) for section in taxonomy.sections()]


def test_a_round_is_checked_field_by_field(district):
    with pytest.raises(ReslibError) as caught:
        rounds.save_round(district.district_admin, None, round_data(
            title=" ", year="1999", sections=[], min_per_section="-1", deadline="7月4日", submit_url="ftp://x",
            contact={"unit": "长" * 101}))
    assert set(caught.value.errors) == {"title", "year", "sections", "min_per_section", "deadline", "submit_url",
                                        "contact.unit"}
    assert db.session.scalar(select(RecommendationRound)) is None
    with pytest.raises(ReslibError) as caught:
        rounds.save_round(district.admin_a, None, round_data())
    assert caught.value.status == 403


def test_schools_propose_and_the_district_selects_within_the_quota(district, round_, candidates):
    mine, theirs = candidates
    first = rounds.propose(district.admin_a, round_, mine, "德育", "爱国主义", "系列共 5 集")
    second = rounds.propose(district.admin_b, round_, theirs, "德育", "党史学习")
    assert (first.unit_id, first.status) == (district.school_a.unit_id, "proposed")
    assert rounds.quota_left(round_, first.unit_id, "德育") == 1

    rounds.select_candidate(district.district_admin, first)
    assert first.status == "selected" and rounds.quota_left(round_, first.unit_id, "德育") == 0
    with pytest.raises(ReslibError) as caught:
        rounds.select_candidate(district.district_admin, second)
    assert caught.value.code == "over_quota" and "东城片区" in caught.value.message
    assert second.status == "proposed"

    rounds.deselect(district.district_admin, first)
    rounds.select_candidate(district.district_admin, second)
    assert [p.chosen for p in rounds.section_progress(round_)][0] == 1
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("sync_provincial.%"))).all()
    assert actions.count("sync_provincial.proposed") == 2
    assert actions.count("sync_provincial.recommendation_status") == 3


def test_a_candidate_that_fails_the_standards_gets_a_fix_list_and_is_not_selected(district, round_, candidates):
    mine, _ = candidates
    mine.cover_sha256, mine.copyright_holder = None, ""
    db.session.commit()
    recommendation = rounds.propose(district.admin_a, round_, mine, "德育", "爱国主义")
    problems = rounds.fix_list(recommendation, district.district_admin)
    assert "请上传封面（JPG）" in problems and len(problems) == 2
    with pytest.raises(ReslibError) as caught:
        rounds.select_candidate(district.district_admin, recommendation)
    assert caught.value.code == "standards_not_met" and "请上传封面" in caught.value.message
    assert recommendation.status == "proposed"


@pytest.mark.parametrize("who, change, code", [
    ("teacher_a", {}, "forbidden"),                       # only the school's admins propose
    ("admin_b", {}, "forbidden"),                         # not another school's resource
    ("admin_a", {"status": "school_approved"}, "not_published"),
    ("admin_a", {"section": "劳动教育", "column": "爱国主义"}, "invalid"),  # the column is another section's
])
def test_who_may_propose_what(district, round_, candidates, who, change, code):
    mine, _ = candidates
    section, column = change.pop("section", "德育"), change.pop("column", "爱国主义")
    for field, value in change.items():
        setattr(mine, field, value)
    db.session.commit()
    with pytest.raises(ReslibError) as caught:
        rounds.propose(getattr(district, who), round_, mine, section, column)
    assert caught.value.code == code
    assert db.session.scalar(select(Recommendation)) is None


def test_no_proposal_after_the_deadline_or_once_closed_and_none_twice(district, round_, candidates):
    mine, theirs = candidates
    rounds.propose(district.admin_a, round_, mine, "德育", "爱国主义")
    with pytest.raises(ReslibError) as caught:
        rounds.propose(district.admin_a, round_, mine, "德育", "党史学习")
    assert caught.value.status == 409
    round_.deadline = local_today() - timedelta(days=1)
    db.session.commit()
    with pytest.raises(ReslibError) as caught:
        rounds.propose(district.admin_b, round_, theirs, "德育", "爱国主义")
    assert caught.value.code == "round_closed"
    round_.deadline = local_today()
    rounds.set_round_status(district.district_admin, round_, "closed")
    with pytest.raises(ReslibError):
        rounds.propose(district.admin_b, round_, theirs, "德育", "爱国主义")


def test_the_platforms_answers_follow_in_order_and_acceptance_is_announced_once(district, round_, candidates):
    mine, _ = candidates
    item = rounds.propose(district.admin_a, round_, mine, "德育", "爱国主义")
    admin = district.district_admin
    with pytest.raises(ReslibError):
        rounds.record_answer(admin, item, "accepted")  # not submitted yet
    rounds.select_candidate(admin, item)
    rounds.record_answer(admin, item, "submitted")
    with pytest.raises(ReslibError) as caught:
        rounds.record_answer(admin, item, "rejected")
    assert caught.value.field == "reason"
    rounds.record_answer(admin, item, "accepted")
    with pytest.raises(ReslibError) as caught:
        rounds.record_answer(admin, item, "online", url="javascript:alert(1)")
    assert caught.value.field == "link_url"
    rounds.record_answer(admin, item, "online", url="https://basic.smartedu.cn/resource/1")
    assert (item.status, item.online_url) == ("online", "https://basic.smartedu.cn/resource/1")
    assert len(ANNOUNCED.seen) == 1  # going online after acceptance is not a second acceptance
    selection = ANNOUNCED.seen[0]
    assert selection["key"] == f"provincial:rec:{item.id}" and selection["people"] == [district.teacher_a.id]
    assert (selection["title"], selection["platform"]) == ("红色家书诵读", "国家中小学智慧教育平台")
    with pytest.raises(ReslibError):
        rounds.withdraw(district.admin_a, item)  # chosen: no longer the school's to take back


def test_the_form_has_seed_001s_columns_and_no_formula_from_user_text(district, round_, candidates):
    mine, theirs = candidates
    mine.title = "=HYPERLINK(\"http://evil\")"
    db.session.commit()
    service.set_quotas(district.district_admin, round_, {(district.school_a.unit_id, "德育"): 2})
    for resource in (mine, theirs):
        rounds.select_candidate(district.district_admin, rounds.propose(
            district.district_admin, round_, resource, "德育", "爱国主义", "+注意"))
    book = load_workbook(io.BytesIO(exports.form_xlsx(round_)))
    form, contact = book["推荐表"], book["联系表"]
    rows = list(form.values)
    assert list(rows[0]) == ["序号", "资源标题", "资源制作方", "拟上线版块", "拟上线栏目", "资源版权方", "资源格式",
                             "资源内容简介", "备注"]
    assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(\"http://evil\")", "家乡的英雄"]
    assert rows[1][2:7] == ("第一实验小学", "德育", "爱国主义", "东昌区教育局", "PDF") and rows[1][8] == "'+注意"
    assert all(cell.data_type != "f" for row in form.iter_rows() for cell in row)
    contact_rows = {row[0]: row[1:] for row in contact.iter_rows(values_only=True)}
    assert contact_rows["填报单位"][0] == "东昌区教育局"
    assert contact_rows["具体组织部门联系人"][0] == "刘健华" and contact_rows["具体组织部门联系人"][5] == "8805708"


def test_a_resource_withdrawn_after_selection_is_not_sent_upward(app, client, district, round_, candidates):
    mine, theirs = candidates
    service.set_quotas(district.district_admin, round_, {(district.school_a.unit_id, "德育"): 2})
    for resource in (mine, theirs):
        rounds.select_candidate(district.district_admin, rounds.propose(
            district.district_admin, round_, resource, "德育", "爱国主义"))
    theirs.status = "withdrawn"
    db.session.commit()
    assert [row[1] for row in exports.form_rows(round_)] == ["红色家书诵读"]
    with app.test_request_context():
        names = zipfile.ZipFile(io.BytesIO(exports.package_zip(round_))).namelist()
    assert not any("家乡的英雄" in name for name in names)
    login(client, "admin")
    assert "资源已不在区级库中，不会报送" in client.get(f"/provincial/rounds/{round_.id}").get_data(as_text=True)


def test_the_pdf_form_renders_and_the_package_holds_forms_and_metadata(app, district, round_, candidates, tmp_path):
    mine, _ = candidates
    rounds.select_candidate(district.district_admin, rounds.propose(district.admin_a, round_, mine, "德育", "爱国主义"))
    pdf = tmp_path / "form.pdf"
    pdf.write_bytes(exports.form_pdf(round_))
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(tmp_path / "page")], check=True)
    assert list(tmp_path.glob("page*.png"))
    text = subprocess.run(["pdftotext", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    assert "红色家书诵读" in text and "刘健华" in text
    with app.test_request_context():  # the metadata carries the resources' addresses
        package = exports.package_zip(round_)
    with zipfile.ZipFile(io.BytesIO(package)) as archive:
        names = set(archive.namelist())
        assert {"推荐表.xlsx", "推荐表.pdf", "联系表.pdf", "001-红色家书诵读/metadata.json",
                "001-红色家书诵读/metadata.xml", "001-红色家书诵读/cover.jpg"} <= names
        assert "红色家书诵读" in archive.read("001-红色家书诵读/metadata.json").decode()


# --- the pages ---------------------------------------------------------------------------------------

def test_a_round_from_the_form_to_the_platforms_answer(client, district, candidates, round_):
    mine, _ = candidates
    login(client, "admin.a")
    detail = f"/provincial/rounds/{round_.id}"
    page = client.get(detail).get_data(as_text=True)
    assert "推荐本校资源" in page and "红色家书诵读" in page and "家乡的英雄" not in page  # only its own school's
    assert "东城片区" in page and "西城片区" not in page  # its own area's quotas, not the others'
    response = post_form(client, f"{detail}/proposals", {"resource_id": mine.id, "placement": "德育|爱国主义",
                                                         "note": "系列"}, token_page=detail)
    assert response.status_code == 302
    item = db.session.scalar(select(Recommendation))
    assert "已推荐“红色家书诵读”" in client.get(detail).get_data(as_text=True)
    page = client.get(f"/resources/{mine.id}").get_data(as_text=True)
    assert "学校已推荐" in page

    post_form(client, "/logout")
    login(client, "admin")
    page = client.get(detail).get_data(as_text=True)
    assert "1 / 1" not in page and "0 / 1" in page
    post_form(client, f"/provincial/recommendations/{item.id}/select", token_page=detail)
    assert "1 / 1" in client.get(detail).get_data(as_text=True)
    post_form(client, f"/provincial/recommendations/{item.id}/answer", {"status": "submitted"}, token_page=detail)
    post_form(client, f"/provincial/recommendations/{item.id}/answer", {"status": "rejected", "reason": ""},
              token_page=detail)
    assert "请填写未采纳的原因" in client.get(detail).get_data(as_text=True)
    post_form(client, f"/provincial/recommendations/{item.id}/answer",
              {"status": "online", "online_url": "https://basic.smartedu.cn/r/9"}, token_page=detail)
    db.session.refresh(item)
    assert item.status == "online" and len(ANNOUNCED.seen) == 1
    xlsx = client.get(f"{detail}/form.xlsx")
    assert xlsx.status_code == 200 and load_workbook(io.BytesIO(xlsx.data))["推荐表"]["B2"].value == "红色家书诵读"

    post_form(client, "/logout")
    login(client, "student.b")  # anyone who may see the resource learns it went online
    page = client.get(f"/resources/{mine.id}").get_data(as_text=True)
    assert "已上线" in page and "https://basic.smartedu.cn/r/9" in page


def test_a_proposal_stays_between_the_school_and_the_district(client, district, candidates, round_):
    mine, _ = candidates
    rounds.propose(district.admin_a, round_, mine, "德育", "爱国主义")
    login(client, "student.b")
    assert "学校已推荐" not in client.get(f"/resources/{mine.id}").get_data(as_text=True)
    assert client.get(f"/provincial/rounds/{round_.id}").status_code == 403
    post_form(client, "/logout")
    login(client, "teacher.a")  # the author follows it
    assert "学校已推荐" in client.get(f"/resources/{mine.id}").get_data(as_text=True)


def test_the_district_admin_creates_a_round_with_the_form(client, district):
    login(client, "admin")
    page = client.get("/provincial/rounds/new").get_data(as_text=True)
    assert "数字资源征集工作联系表" in page
    fields = {"title": "2026 年专题资源推荐", "platform": "省级平台", "year": "２０２６", "sections": ["德育", "课后服务"],
              "min_per_section": "10", "deadline": "2026-07-04", "submit_url": "",
              "contact_unit": "东昌区教育局", "contact_admin_head__name": "王建国"}
    response = post_form(client, "/provincial/rounds/new", fields, token_page="/provincial/rounds/new")
    assert response.status_code == 302
    created = db.session.scalar(select(RecommendationRound))
    assert (created.year, created.section_list()) == (2026, ["德育", "课后服务"])
    assert rounds.contact_of(created) == {"unit": "东昌区教育局", "admin_head.name": "王建国"}
    response = post_form(client, f"/provincial/rounds/{created.id}/edit", {**fields, "deadline": "明天"},
                         token_page="/provincial/rounds/new")
    assert response.status_code == 200 and "请填写截止日期" in response.get_data(as_text=True)
