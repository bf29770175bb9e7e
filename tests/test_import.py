"""Bulk import of catalogue records: formats, headers, row errors, dry run, idempotence, the page, the policy."""
import csv
import io
import json
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.exceptions import Forbidden

from reslib import hookimpl
from reslib.extensions import db
from reslib.models import AuditEvent, Resource, ReviewDecision, Term
from reslib.services import importer
from reslib.services.importer import import_records
from reslib.testing import add_resource, csrf_token, login

HEADER = ["资源标题", "资源简介", "关键词", "主讲人", "版权方", "创建时间", "所属分类", "资源类型代码",
          "学段", "学科", "年级", "教材版本", "资源形式", "资源类别", "来源", "链接"]
ENGLISH = ["title", "description", "keywords", "presenters", "copyright_holder", "created_on", "category",
           "type_code", "stage", "subject", "grade", "edition", "form", "kind", "source", "link_url"]


def record(n=1, **changes) -> list:
    row = dict(zip(ENGLISH, [f"飞机发动机原理 第{n}讲", "涡扇发动机怎样工作。", "航空；发动机", "张建华、朱新",
                             "东昌区教育局", "2022-03-23", "科学文化-航空知识-航空发动机", "A01", "初中", "物理",
                             "八年级", "人教版", "微课", "学生学习资源", "区级制作", f"https://example.org/course/{n}"]))
    row.update(changes)
    return list(row.values())


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=ENGLISH) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def imported(school_id=None) -> list[Resource]:
    db.session.expire_all()
    return list(db.session.scalars(select(Resource).where(Resource.link_url.is_not(None),
                                                          Resource.school_id.is_(school_id) if school_id is None
                                                          else Resource.school_id == school_id)
                                   .order_by(Resource.id)))


def term(vocabulary, name) -> int:
    return db.session.scalar(select(Term.id).where(Term.vocabulary == vocabulary, Term.name == name))


class ChangeRecorder:
    """resource_changed calls, with the status the database had committed at that moment."""

    def __init__(self):
        self.changes = []

    @hookimpl
    def resource_changed(self, resource, change, actor):
        with db.engine.connect() as other_connection:
            committed = other_connection.execute(select(Resource.status).where(Resource.id == resource.id)).scalar()
        self.changes.append((resource.title, change, committed, actor.username))


@pytest.fixture
def recorder():
    return ChangeRecorder()


@pytest.fixture
def app_config(recorder):
    return {"EXTRA_PLUGINS": [recorder]}


def test_csv_with_chinese_headers_fills_the_district_library(district, recorder):
    data = csv_bytes([record(1), record(2, kind="teacher", source="开放资源", type_code="")])
    report = import_records(district.district_admin, "目录.csv", data, library="district")
    assert (report.rows, report.created, report.updated, report.unchanged, report.errors) == (2, 2, 0, 0, [])
    first, second = imported()
    assert (first.status, first.owner_id, first.school_id, first.lineage_id) == ("published", district.district_admin.id, None, first.id)
    assert first.published_at is not None and first.created_on == date(2022, 3, 23)
    assert (first.keywords, first.presenters) == ("航空;发动机", "张建华;朱新")
    assert first.category.path == "科学文化-航空知识-航空发动机"
    assert (first.stage_id, first.subject_id, first.grade_id, first.edition_id, first.form_id) == (
        term("stage", "初中"), term("subject", "物理"), term("grade", "八年级"), term("edition", "人教版"), term("form", "微课"))
    assert (first.kind, first.source, first.type_code) == ("student", "district", "A01")
    assert (second.kind, second.source, second.type_code) == ("teacher", "open", "A03")  # a link is A03 unless told
    decision = db.session.scalar(select(ReviewDecision).where(ReviewDecision.resource_id == first.id))
    assert (decision.action, decision.to_status, decision.actor_id) == ("import", "published", district.district_admin.id)
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "resource.imported")).all()
    assert [(e.target, e.detail) for e in events] == [("library:district", "目录.csv：新增 2，更新 0，未变 0")]
    assert recorder.changes == [(first.title, "published", "published", "admin"),
                                (second.title, "published", "published", "admin")]


def test_gb18030_csv_is_read(district):
    report = import_records(district.district_admin, "目录.csv", csv_bytes([record(1)], encoding="gb18030"), library="district")
    assert report.created == 1 and imported()[0].title == "飞机发动机原理 第1讲"


def test_xlsx_with_english_headers_fills_a_school_library(district, recorder):
    rows = [record(1, created_on=datetime(2023, 9, 1)), record(2)]  # Excel keeps dates as date cells
    report = import_records(district.admin_a, "catalogue.xlsx", xlsx_bytes(rows), library=district.school_a.id)
    assert (report.created, report.errors) == (2, [])
    first, second = imported(district.school_a.id)
    assert (first.status, first.owner_id, first.created_on) == ("school_approved", district.admin_a.id, date(2023, 9, 1))
    assert second.subject_id == term("subject", "物理")
    assert [change for _title, change, _status, _actor in recorder.changes] == ["school_approved"] * 2


def test_json_lines_take_either_headers_and_keyword_lists(district):
    lines = [
        {"资源标题": "爱国主义教育", "链接": "https://example.org/a", "关键词": ["爱国", "德育"], "学段": "小学"},
        {"title": "Python 入门", "link_url": "https://example.org/b", "subject": "信息科技", "unknown": 1},
    ]
    data = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines).encode() + b"\n\n"
    report = import_records(district.district_admin, "catalogue.jsonl", data, library="district")
    assert (report.rows, report.created, report.errors) == (2, 2, [])
    patriotic, python = imported()
    assert (patriotic.keywords, patriotic.stage_id) == ("爱国;德育", term("stage", "小学"))
    assert python.subject_id == term("subject", "信息科技")


def test_every_bad_row_is_reported_by_number_and_nothing_is_imported(district):
    rows = [record(1), record(2, subject="天文学"), record(3, created_on="2022/3/23"),
            record(4, category="科学文化-航天知识"), record(5, link_url="ftp://example.org/x"),
            record(6, link_url="https://example.org/course/1"), record(7, kind="家长资源"), record(8, title=""),
            record(9, grade="九年级 ", edition="  ")]
    report = import_records(district.district_admin, "目录.csv", csv_bytes(rows), library="district")
    assert report.lines == [
        "第 3 行：学科“天文学”不在词表中",
        "第 4 行：创建时间应为 yyyy-mm-dd，例如 2022-03-23",
        "第 5 行：所属分类“科学文化-航天知识”不在分类表中",
        "第 6 行：链接应是完整的 http:// 或 https:// 网址",
        "第 7 行：链接与第 2 行重复",
        "第 8 行：资源类别“家长资源”应为：学生学习资源、教师教学资源、教师专业发展及教研资源",
        "第 9 行：请填写资源标题",
    ]
    assert report.created == 2  # row 2, and row 10 (cells are trimmed, a blank edition is none)
    assert imported() == [] and db.session.scalar(select(func.count()).select_from(AuditEvent)) == 0


def test_files_and_missing_links_are_refused_per_row(district):
    data = csv_bytes([["讲座录像", "video.mp4", ""], ["只有标题", "", ""]], header=["资源标题", "文件", "链接"])
    report = import_records(district.district_admin, "目录.csv", data, library="district")
    assert report.lines == ["第 2 行：导入只支持链接资源，文件请在上传页面上传", "第 3 行：请填写链接"]


def test_a_json_line_that_is_not_an_object_is_a_row_error(district):
    data = '{"title": "好", "link": "https://example.org/a"}\n[1, 2]\n{"title": \n'.encode()
    report = import_records(district.district_admin, "x.jsonl", data, library="district")
    assert report.lines == ["第 2 行：不是有效的 JSON 对象", "第 3 行：不是有效的 JSON 对象"]


def test_an_unknown_format_or_a_missing_title_column_refuses_the_file(district):
    from reslib.errors import ReslibError

    with pytest.raises(ReslibError, match=r"\.jsonl"):
        import_records(district.district_admin, "目录.txt", b"x", library="district")
    with pytest.raises(ReslibError, match="缺少必需的列：资源标题"):
        import_records(district.district_admin, "目录.csv", csv_bytes([["https://example.org"]], header=["链接"]),
                       library="district")


def test_a_damaged_file_is_refused_with_what_to_do(district):
    """An unclosed quote, a damaged or truncated workbook, one without a worksheet: a clear refusal, not a crash."""
    from reslib.errors import ReslibError

    unclosed = "资源标题,链接\n\"勾股定理".encode() + "很长的简介" .encode() * 30_000
    with pytest.raises(ReslibError, match="第 2 行有单元格超过 131072 个字符，无法读取（引号不成对时"):
        import_records(district.district_admin, "目录.csv", unclosed, library="district")
    workbook = io.BytesIO()
    book = Workbook()
    book.create_chartsheet()
    book.remove(book.active)
    book.save(workbook)
    sheet = io.BytesIO()
    Workbook().save(sheet)
    for damaged in (workbook.getvalue(), sheet.getvalue()[:300], b"PK\x03\x04 not really a zip"):
        with pytest.raises(ReslibError, match="请确认它是 .xlsx 格式且没有损坏"):
            import_records(district.district_admin, "目录.xlsx", damaged, library="district")


def test_dry_run_counts_and_changes_nothing(district, recorder):
    import_records(district.district_admin, "目录.csv", csv_bytes([record(1)]), library="district")
    data = csv_bytes([record(1, description="新的简介"), record(2), record(3)])
    report = import_records(district.district_admin, "目录.csv", data, library="district", dry_run=True)
    assert (report.dry_run, report.created, report.updated, report.unchanged) == (True, 2, 1, 0)
    assert [r.description for r in imported()] == ["涡扇发动机怎样工作。"]
    assert len(recorder.changes) == 1 and db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_reimport_is_idempotent_and_a_changed_row_updates_its_resource(district, recorder):
    data = csv_bytes([record(n) for n in range(1, 4)])
    import_records(district.district_admin, "目录.csv", data, library="district")
    again = import_records(district.district_admin, "目录.csv", data, library="district")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3) and len(imported()) == 3
    changed = csv_bytes([record(1), record(2, title="飞机发动机原理（修订）", subject="科学"), record(3)])
    report = import_records(district.district_admin, "目录.csv", changed, library="district")
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    second = imported()[1]
    assert (second.title, second.subject_id, second.status) == ("飞机发动机原理（修订）", term("subject", "科学"), "published")
    assert recorder.changes[-1] == ("飞机发动机原理（修订）", "edited", "published", "admin")
    details = db.session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "resource.imported")).all()
    assert details == ["目录.csv：新增 3，更新 0，未变 0", "目录.csv：新增 0，更新 0，未变 3",
                       "目录.csv：新增 0，更新 1，未变 2"]


def test_the_import_key_is_the_link_within_its_library(district):
    data = csv_bytes([record(1)])
    import_records(district.district_admin, "目录.csv", data, library="district")
    import_records(district.district_admin, "目录.csv", data, library=district.school_a.id)
    assert len(imported()) == 1 and len(imported(district.school_a.id)) == 1
    withdrawn = imported()[0]
    withdrawn.status = "withdrawn"
    db.session.commit()
    report = import_records(district.district_admin, "目录.csv", data, library="district")
    assert (report.created, report.unchanged) == (0, 1) and imported()[0].status == "withdrawn"  # not brought back


def test_a_teachers_draft_with_the_same_link_is_left_alone(district):
    draft = add_resource(district.teacher_a, status="draft", title="草稿", content=b"", file_sha256=None,
                         link_url="https://example.org/course/1", school_id=district.school_a.id)
    report = import_records(district.admin_a, "目录.csv", csv_bytes([record(1)]), library=district.school_a.id)
    assert report.created == 1
    db.session.refresh(draft)
    assert (draft.title, draft.status) == ("草稿", "draft")


def test_only_admins_of_the_library_may_import(district):
    data = csv_bytes([record(1)])
    for user, library in [(district.teacher_a, district.school_a.id), (district.admin_a, district.school_b.id),
                          (district.admin_a, "district"), (district.reviewer, "district")]:
        with pytest.raises(Forbidden):
            import_records(user, "目录.csv", data, library=library)
    assert imported() == [] and imported(district.school_a.id) == []


def test_the_page_imports_and_shows_the_report(client, district):
    login(client, "admin")
    page = client.get("/admin/import").get_data(as_text=True)
    assert "区级资源库" in page and "第一实验小学 校本资源库" in page
    data = csv_bytes([record(1), record(2, subject="天文学")])
    response = client.post("/admin/import", data={"csrf_token": csrf_token(client, "/admin/import"), "library": "district",
                                                 "file": (io.BytesIO(data), "目录.csv")})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "没有导入任何内容" in page and "第 3 行：学科“天文学”不在词表中" in page
    response = client.post("/admin/import", data={"csrf_token": csrf_token(client, "/admin/import"), "library": "district",
                                                 "file": (io.BytesIO(csv_bytes([record(1)])), "目录.csv"), "dry_run": "y"})
    assert "检查通过（未导入）" in response.get_data(as_text=True) and imported() == []
    response = client.post("/admin/import", data={"csrf_token": csrf_token(client, "/admin/import"), "library": "district",
                                                 "file": (io.BytesIO(csv_bytes([record(1)])), "目录.csv")})
    assert "导入完成" in response.get_data(as_text=True) and len(imported()) == 1


def test_school_admins_see_their_own_library_only_and_others_are_refused(client, district):
    login(client, "admin.a")
    page = client.get("/admin/import").get_data(as_text=True)
    assert "第一实验小学 校本资源库" in page and "区级资源库" not in page and "育才中学" not in page
    token = csrf_token(client, "/admin/import")
    for library in ("district", str(district.school_b.id)):
        response = client.post("/admin/import", data={"csrf_token": token, "library": library,
                                                     "file": (io.BytesIO(csv_bytes([record(1)])), "目录.csv")})
        assert response.status_code == 403
    teacher = client.application.test_client()
    login(teacher, "teacher.a")
    assert teacher.get("/admin/import").status_code == 403


def test_thousands_of_rows_import_in_batches_with_progress(district):
    # The rate is measured by `make bench`, never by a timer here.
    data = csv_bytes([record(n) for n in range(3000)])
    seen = []
    report = import_records(district.district_admin, "目录.csv", data, library="district",
                            progress=lambda *step_done_total: seen.append(step_done_total))
    assert report.created == 3000
    assert ("check", 1000, 3000) in seen and seen[-1] == ("write", 3000, 3000)


@pytest.mark.parametrize("index_batch_size, syncs", [(importer.INDEX_BATCH_SIZE, 1), (1000, 2)])
def test_written_rows_reach_search_through_one_queued_sync_per_index_batch(app, district, monkeypatch,
                                                                          index_batch_size, syncs):
    from reslib.jobs import queue
    from reslib.services import search

    monkeypatch.setattr(importer, "INDEX_BATCH_SIZE", index_batch_size)
    report = import_records(district.district_admin, "目录.csv", csv_bytes([record(n) for n in range(1500)]),
                            library="district")
    assert report.created == 1500
    assert queue().pending_count() == syncs  # not one per record, nor one per commit of 1000
    assert queue().run_pending() == syncs
    assert search.index().doc_count() == 1500
    assert search.search(district.student_a, "飞机发动机原理 第1499讲").total == 1


def test_the_command_imports_and_is_idempotent(runner, district, tmp_path):
    path = tmp_path / "目录.csv"
    path.write_bytes(csv_bytes([record(1), record(2)]))
    first = runner.invoke(args=["import", str(path), "--as", "admin"])
    assert first.exit_code == 0, first.output
    assert "新建 2" in first.output
    again = runner.invoke(args=["import", str(path), "--as", "admin"])
    assert "新建 0" in again.output and "未变 2" in again.output
    path.write_bytes(csv_bytes([record(3, created_on="2022/03/23")]))
    bad = runner.invoke(args=["import", str(path), "--as", "admin", "--school", "第一实验小学"])
    assert bad.exit_code == 1 and "第 2 行" in bad.output


@pytest.mark.parametrize("school", [None, "a"])
def test_a_fetched_draft_is_admitted_as_an_import_step(district, school):
    """What a catalogue's copied file goes through: into the library without review, the step on record."""
    school_id = district.school_a.id if school else None
    draft = add_resource(district.district_admin, status="draft", title="平台的微课", school_id=None)
    importer.admit(district.district_admin, draft, school_id=school_id, comment="采集：省平台")
    assert (draft.status, draft.school_id) == ("school_approved" if school else "published", school_id)
    assert draft.published_at is not None
    step = db.session.scalar(select(ReviewDecision).where(ReviewDecision.resource_id == draft.id))
    assert (step.action, step.from_status, step.to_status, step.comment) == ("import", "draft", draft.status,
                                                                             "采集：省平台")


def test_only_who_may_import_into_the_library_admits(district):
    draft = add_resource(district.admin_a, status="draft", title="别校的微课")
    with pytest.raises(Forbidden):
        importer.admit(district.admin_a, draft, school_id=district.school_b.id, comment="采集")
    assert db.session.get(Resource, draft.id).status == "draft"
