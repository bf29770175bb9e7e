"""Harvesting into the district library from OAI-PMH repositories and JSON catalogues served over real HTTP on
127.0.0.1: a fake repository the test controls, and a second reslib instance's /oai."""
import json
import threading
from datetime import timedelta

import pytest
from harvest_server import CannedServer, FakeRecord, FakeRepository, envelope
from sqlalchemy import func, select
from werkzeug.serving import make_server

from plugins.sync_provincial import harvest
from plugins.sync_provincial.models import HarvestedRecord, HarvestRun, HarvestSource
from reslib.extensions import db
from reslib.jobs import queue
from reslib.models import Resource, ReviewDecision, utcnow
from reslib.services import vocabularies
from reslib.testing import MINIMAL_PDF, District, add_resource, login, make_test_app, post_form, running


@pytest.fixture
def app_config():
    return {"HARVEST_ALLOW_PRIVATE_HOSTS": ["127.0.0.1"], "HARVEST_TOTAL_SECONDS": 2, "HARVEST_MAX_BYTES": 100_000}


@pytest.fixture
def server():
    canned = CannedServer()
    yield canned
    canned.stop()


def records(count: int, stamp: str = "2026-01-01T00:00:00Z") -> list[FakeRecord]:
    return [FakeRecord(n, stamp, title=f"平台资源{n}", url=f"https://platform.example/r/{n}") for n in range(1, count + 1)]


@pytest.fixture
def repository(server):
    fake = FakeRepository(records(5))
    server.routes["/oai"] = fake
    return fake


def add_source(district, url, **fields) -> HarvestSource:
    values = dict(name="省级平台", kind="oai", base_url=url, metadata_prefix="nsr", mode="link",
                  account_id=district.district_admin.id)
    source = HarvestSource(**{**values, **fields})
    db.session.add(source)
    db.session.commit()
    return source


def harvested() -> list[Resource]:
    return list(db.session.scalars(select(Resource).join(HarvestedRecord, HarvestedRecord.resource_id == Resource.id)
                                   .order_by(Resource.title)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_full_harvest_adds_every_record_once_and_a_second_run_nothing(app, district, server, repository):
    source = add_source(district, server.url("/oai"))
    run = harvest.run_source(source.id)
    assert (run.status, run.added, run.updated, run.errors) == ("ok", 5, 0, 0), run.error or run.notes
    resources = harvested()
    assert [r.title for r in resources] == [f"平台资源{n}" for n in range(1, 6)]
    assert {(r.status, r.school_id, r.link_url.startswith("https://platform.example/r/")) for r in resources} == {
        ("published", None, True)}
    assert {r.owner_id for r in resources} == {district.district_admin.id}
    step = db.session.scalar(select(ReviewDecision).where(ReviewDecision.resource_id == resources[0].id))
    assert (step.action, step.to_status) == ("import", "published")
    pages = [query for path, query, _headers in server.requests if query.get("verb") == "ListRecords"]
    assert len(pages) == 3 and "resumptionToken" in pages[1]  # five records, two a page: the tokens followed
    assert source.last_datestamp == "2026-01-01T00:00:00Z" and source.failures == 0

    again = harvest.run_source(source.id)
    assert (again.status, again.added, again.updated, again.unchanged) == ("ok", 0, 0, 5)
    assert count(Resource) == 5 and count(HarvestedRecord) == 5


def test_an_incremental_run_asks_from_the_last_datestamp_and_takes_only_what_changed(app, district, server, repository):
    source = add_source(district, server.url("/oai"))
    harvest.run_source(source.id)
    repository.records[1].datestamp, repository.records[1].title = "2026-02-01T08:00:00Z", "平台资源2（修订）"
    repository.records.append(FakeRecord(6, "2026-02-01T09:00:00Z", title="平台资源6", url="https://platform.example/r/6"))
    server.requests.clear()
    run = harvest.run_source(source.id)
    first_page = next(query for _path, query, _h in server.requests if query.get("verb") == "ListRecords")
    assert first_page["from"] == "2026-01-01T00:00:00Z"
    assert (run.added, run.updated, run.unchanged) == (1, 1, 4)  # from is inclusive: that second's four again
    assert [r.title for r in harvested()] == ["平台资源1", "平台资源2（修订）", "平台资源3", "平台资源4", "平台资源5",
                                              "平台资源6"]
    assert source.last_datestamp == "2026-02-01T09:00:00Z"


def test_a_deleted_record_withdraws_its_resource(app, district, server, repository):
    source = add_source(district, server.url("/oai"))
    harvest.run_source(source.id)
    repository.records[2].deleted, repository.records[2].datestamp = True, "2026-03-01T00:00:00Z"
    run = harvest.run_source(source.id)
    assert run.withdrawn == 1
    gone = db.session.scalar(select(Resource).where(Resource.title == "平台资源3"))
    assert gone.status == "withdrawn" and "省级平台" in gone.status_reason
    assert harvest.run_source(source.id).withdrawn == 0  # already out


@pytest.mark.parametrize("page", [
    b"<OAI-PMH><ListRecords><record>",  # cut short
    b"not xml at all",
    # XXE: an external entity reading a local file
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><OAI-PMH>&x;</OAI-PMH>',
    # billion laughs
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
    b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><OAI-PMH>&d;</OAI-PMH>',
])
def test_a_bad_page_fails_the_run_with_nothing_half_imported(app, district, server, repository, page):
    repository.broken_page = (2, page)  # the first page was fine
    source = add_source(district, server.url("/oai"))
    run = harvest.run_source(source.id)
    assert run.status == "failed" and ("XML" in run.error or "DTD" in run.error), run.error
    if b"ENTITY" in page:
        assert "DTD 或实体定义" in run.error
    assert count(Resource) == 0 and count(HarvestedRecord) == 0
    assert source.last_datestamp is None


def test_a_failing_source_backs_off_and_a_success_resets_it(app, district, server, repository):
    repository.broken_page = (1, b"<broken")
    source = add_source(district, server.url("/oai"))
    before = utcnow()
    harvest.run_source(source.id)
    assert source.failures == 1 and before + timedelta(minutes=4) < source.next_run_at < before + timedelta(minutes=6)
    assert harvest.due_sources() == []  # backing off
    harvest.run_source(source.id)
    assert source.failures == 2 and source.next_run_at > before + timedelta(minutes=9)
    for _ in range(10):
        harvest.run_source(source.id)
    assert source.next_run_at < utcnow() + timedelta(hours=24, minutes=1)  # capped at a day
    repository.broken_page = None
    source.next_run_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert harvest.due_sources() == [source.id]
    harvest.run_due()
    assert source.failures == 0 and count(Resource) == 5
    assert [run.status for run in db.session.scalars(select(HarvestRun).order_by(HarvestRun.id))][-1] == "ok"


def test_an_oai_error_and_a_refused_address_fail_the_run(app, district, server):
    server.reply("/oai", envelope('<error code="badArgument">bad</error>'))
    source = add_source(district, server.url("/oai"))
    assert "badArgument" in harvest.run_source(source.id).error
    app.config["HARVEST_ALLOW_PRIVATE_HOSTS"] = []
    assert "拒绝访问内网" in harvest.run_source(source.id).error
    assert source.failures == 2


def test_categories_are_mapped_and_an_unmapped_one_is_left_empty_with_a_warning(app, district, server, repository):
    ours = vocabularies.terms("category")[0]
    repository.records[0].category, repository.records[1].category = "航空", "未知分类"
    source = add_source(district, server.url("/oai"), category_mapping=f"航空 = {ours.path}\n# a comment\n")
    run = harvest.run_source(source.id)
    by_title = {r.title: r for r in harvested()}
    assert by_title["平台资源1"].category_id == ours.id and by_title["平台资源2"].category_id is None
    assert run.warnings == 1 and "未知分类" in run.notes


def test_a_record_the_core_refuses_is_counted_and_the_others_are_harvested(app, district, server, repository):
    repository.records[0].url = "javascript:alert(1)"
    repository.records[1].title = ""
    source = add_source(district, server.url("/oai"))
    run = harvest.run_source(source.id)
    assert (run.status, run.added, run.errors) == ("ok", 3, 2)
    assert "oai:fake.example:1" in run.notes and "oai:fake.example:2" in run.notes


def test_oai_dc_into_a_school_library(app, district, server):
    fake = FakeRepository(records(3), prefix="oai_dc")
    server.routes["/oai"] = fake
    source = add_source(district, server.url("/oai"), metadata_prefix="oai_dc", school_id=district.school_a.id)
    assert harvest.run_source(source.id).added == 3
    assert {(r.status, r.school_id) for r in harvested()} == {("school_approved", district.school_a.id)}


def test_copy_mode_stores_the_file_through_the_upload_checks(app, district, server):
    pdf = MINIMAL_PDF.replace(b"200 200", b"300 300")  # not the same file as any other test's
    server.reply("/files/lesson.pdf", pdf)
    server.reply("/files/disguised.pdf", b"MZ\x90\x00" + b"\x00" * 500)  # a Windows program named .pdf
    server.reply("/files/huge.pdf", MINIMAL_PDF + b"%" * 200_000)
    fake = FakeRepository([FakeRecord(1, "2026-01-01T00:00:00Z", "复制的资源", server.url("/files/lesson.pdf")),
                           FakeRecord(2, "2026-01-01T00:00:00Z", "伪装的文件", server.url("/files/disguised.pdf")),
                           FakeRecord(3, "2026-01-01T00:00:00Z", "太大的文件", server.url("/files/huge.pdf"))])
    server.routes["/oai"] = fake
    app.config["UPLOAD_MAX_BYTES"] = {kind: 100_000 for kind in app.config["UPLOAD_MAX_BYTES"]}
    source = add_source(district, server.url("/oai"), mode="copy")
    run = harvest.run_source(source.id)
    assert (run.added, run.errors) == (1, 2), run.notes
    (copied,) = harvested()
    assert (copied.title, copied.status, copied.file_kind, copied.link_url) == ("复制的资源", "published", "pdf", None)
    assert copied.file_size == len(pdf) and copied.processing == "pending"  # processed by the worker like any upload
    assert count(Resource) == 1  # the refused files left no draft behind
    fake.records[0].title, fake.records[0].datestamp = "复制的资源（新标题）", "2026-02-01T00:00:00Z"
    again = harvest.run_source(source.id)
    assert again.updated == 1 and copied.title == "复制的资源（新标题）" and count(Resource) == 1


def test_a_json_catalogue_is_followed_page_by_page(app, district, server):
    first = {"records": [{"identifier": "j1", "datestamp": "2026-01-01", "title": "目录资源1",
                          "url": "https://catalogue.example/1", "subject": "数学"},
                         {"identifier": "j2", "datestamp": "2026-01-01", "title": "目录资源2",
                          "url": "https://catalogue.example/2"}], "next": "/catalogue/2"}
    second = {"records": [{"identifier": "j3", "datestamp": "2026-01-02", "title": "目录资源3",
                           "url": "https://catalogue.example/3"}], "next": None}
    server.reply("/catalogue", json.dumps(first).encode())
    server.reply("/catalogue/2", json.dumps(second).encode())
    source = add_source(district, server.url("/catalogue"), kind="json")
    run = harvest.run_source(source.id)
    assert (run.status, run.added, run.warnings) == ("ok", 3, 1)  # 数学 has no mapping
    second["records"] = [{"identifier": "j3", "datestamp": "2026-01-03", "deleted": True}]
    server.reply("/catalogue/2", json.dumps(second).encode())
    assert harvest.run_source(source.id).withdrawn == 1
    assert server.requests[-2][1] == {"from": "2026-01-02"}


def test_a_second_reslib_instance_is_harvested_over_its_oai_provider(app, district, tmp_path):
    """A school running its own reslib: the district harvests its /oai in the national format."""
    school_app = make_test_app(tmp_path / "school", OAI_PAGE_SIZE=2)
    with running(school_app):
        db.create_all()
        school = District()
        for n in range(3):
            add_resource(school.teacher_a, title=f"学校资源{n}")
        withdrawn = add_resource(school.teacher_b, title="学校撤下的资源")
        withdrawn.status = "withdrawn"
        db.session.commit()
    server = make_server("127.0.0.1", 0, school_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        source = add_source(district, f"http://127.0.0.1:{server.server_port}/oai", name="育才中学")
        run = harvest.run_source(source.id)
    finally:
        server.shutdown()
    assert (run.status, run.added, run.unchanged) == ("ok", 3, 1), run.error or run.notes
    assert sorted(r.title for r in harvested()) == ["学校资源0", "学校资源1", "学校资源2"]
    assert all(r.link_url.startswith(f"http://127.0.0.1:{server.server_port}/resources/") for r in harvested())


# --- pages ---------------------------------------------------------------------------------------------

def test_the_district_admin_adds_a_source_runs_it_and_sees_the_runs(app, district, server, repository):
    client = app.test_client()
    login(client, "admin")
    page = client.get("/provincial/harvest/new")
    assert page.status_code == 200 and "添加采集源" in page.get_data(as_text=True)
    response = post_form(client, "/provincial/harvest/new", {
        "name": "省平台", "kind": "oai", "base_url": server.url("/oai"), "metadata_prefix": "nsr", "mode": "link",
        "school_id": "district", "interval_hours": "12", "enabled": "y",
        "category_mapping": "航空 = 没有的分类"}, token_page="/provincial/harvest/new")
    assert "本区没有这些分类" in response.get_data(as_text=True) and count(HarvestSource) == 0
    response = post_form(client, "/provincial/harvest/new", {
        "name": "省平台", "kind": "oai", "base_url": server.url("/oai"), "metadata_prefix": "nsr", "mode": "link",
        "school_id": "district", "interval_hours": "12", "enabled": "y"}, token_page="/provincial/harvest/new")
    assert response.status_code == 302
    source = db.session.scalar(select(HarvestSource))
    assert (source.name, source.interval_hours, source.account_id) == ("省平台", 12, district.district_admin.id)
    assert "省平台" in client.get("/provincial/harvest/").get_data(as_text=True)

    response = post_form(client, f"/provincial/harvest/{source.id}/run", token_page="/provincial/harvest/")
    assert response.status_code == 302
    assert queue().run_pending() >= 1  # the harvest, then whatever the new resources queue
    runs_page = client.get(f"/provincial/harvest/{source.id}/runs").get_data(as_text=True)
    assert "成功" in runs_page and "<td class=\"num\">5</td>" in runs_page

    resource = harvested()[0]
    shown = client.get(f"/resources/{resource.id}").get_data(as_text=True)
    assert "采集自 省平台" in shown and "oai:fake.example:1" in shown


def test_a_failing_source_is_on_the_admin_dashboard(app, district, server):
    server.reply("/oai", b"<broken")
    source = add_source(district, server.url("/oai"), name="坏掉的源")
    harvest.run_source(source.id)
    client = app.test_client()
    login(client, "admin")
    assert "资源采集连续失败：坏掉的源" in client.get("/dashboard").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/provincial/harvest/", "/provincial/harvest/new"])
def test_others_may_not_open_the_harvest_pages(app, district, path):
    for username in ("teacher.a", "admin.a"):  # a teacher, and a school's admin
        client = app.test_client()
        login(client, username)
        assert client.get(path).status_code == 403
