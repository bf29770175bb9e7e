"""The district's monitoring page: the platform's health, the library's renewal (年更新率) and its use."""
import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from reslib import jobs
from reslib.extensions import db
from reslib.models.base import utcnow
from reslib.models.library import UsageEvent
from reslib.services import accounts, monitoring, search, usage
from reslib.testing import add_resource, login

BIN = Path(sys.executable).parent


def monitoring_page(app, username="admin"):
    client = app.test_client()
    login(client, username)
    return client.get("/admin/monitoring")


def section(page: str, section_id: str) -> str:
    found = re.search(rf'<section class="card[^"]*" id="{section_id}">(.*?)</section>', page, re.S)
    assert found, section_id
    return found.group(1)


def school_row(page: str, school_name: str) -> list[str]:
    row = re.search(rf"<tr><td>{school_name}</td>(.*?)</tr>", section(page, "use"), re.S).group(1)
    return re.findall(r'<td class="num">(\d+)</td>', row)


def test_the_renewal_rate_counts_what_entered_a_library_in_the_last_twelve_months(app, district):
    now = utcnow()
    for days in (400, 500, 800, 1000, 1200, 1500, 1600, 2000, 2500):  # nine resources older than a year
        add_resource(district.teacher_a, published_at=now - timedelta(days=days))
    add_resource(district.teacher_b, status="school_approved", published_at=now - timedelta(days=20))
    add_resource(district.teacher_b, status="draft")  # not in a library: counts for nothing
    add_resource(district.teacher_b, status="withdrawn", published_at=now - timedelta(days=5))

    renewal = monitoring.renewal(now)
    assert (renewal.added, renewal.in_libraries, renewal.rate, renewal.met) == (1, 10, 0.1, True)
    page = monitoring_page(app).get_data(as_text=True)
    assert "10.0%" in section(page, "renewal") and "达到目标" in section(page, "renewal")

    add_resource(district.teacher_a, published_at=now - timedelta(days=366))
    assert not monitoring.renewal(now).met  # 1 of 11
    page = monitoring_page(app).get_data(as_text=True)
    assert "9.1%" in section(page, "renewal") and "未达到目标" in section(page, "renewal")
    assert "第一实验小学" in page and school_row(page, "第一实验小学")[4:] == ["10", "0"]
    assert school_row(page, "育才中学")[4:] == ["1", "1"]


def test_use_in_the_last_thirty_days_is_counted_for_the_district_and_each_school(app, district):
    resource = add_resource(district.teacher_a)
    usage.record(district.student_a, resource, "view")
    usage.record(district.student_a, resource, "download")
    usage.record(district.student_b, resource, "view")
    usage.record(district.teacher_b, resource, "view")
    db.session.add(UsageEvent(resource_id=resource.id, lineage_id=resource.lineage_id, user_id=district.teacher_a.id,
                              school_id=district.school_a.id, kind="view", at=utcnow() - timedelta(days=31)))
    db.session.commit()  # a month ago: outside the window

    page = monitoring_page(app).get_data(as_text=True)
    stats = dict((label, int(count)) for count, label in
                 re.findall(r"<strong>(\d+)</strong><span>([^<]+)</span>", section(page, "use")))
    # The admin's own sign-in a moment ago is one of the sign-ins.
    assert stats == {"浏览": 3, "下载": 1, "使用资源的人数": 3, "登录人数": 1}
    active_a, users_a, views_a, downloads_a = map(int, school_row(page, "第一实验小学")[:4])
    assert (users_a, views_a, downloads_a) == (1, 1, 1)
    assert active_a == 3  # admin.a, teacher.a and student.a; pending.a is not verified yet
    assert school_row(page, "育才中学")[1:4] == ["2", "2", "0"]


def test_the_page_says_whether_the_worker_is_running(app, district):
    page = section(monitoring_page(app).get_data(as_text=True), "platform")
    assert "没有运行过" in page  # no worker has ever noted it is alive

    worker = subprocess.Popen([str(BIN / "reslib"), "worker"], env=worker_environment(app),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while jobs.queue().worker_last_seen() is None and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    page = section(monitoring_page(app).get_data(as_text=True), "platform")
    assert "运行中" in page and "没有运行" not in page

    seen = jobs.queue().worker_last_seen()
    later = seen + monitoring.WORKER_SILENT_AFTER + timedelta(minutes=1)
    assert monitoring.worker().running(seen) and not monitoring.worker().running(later)


def worker_environment(app) -> dict:
    """``reslib worker`` on the test's own queue (in its instance folder) and database."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("RESLIB_")}
    env.update(RESLIB_INSTANCE_PATH=app.instance_path, RESLIB_PLUGINS="[]",
               RESLIB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"])
    return env


def test_files_that_failed_processing_are_listed_with_their_reason(app, district):
    add_resource(district.teacher_a, title="坏掉的视频", status="draft", processing="failed",
                 processing_error="视频文件已损坏")
    add_resource(district.teacher_a, title="排队的视频", status="draft", processing="pending")

    page = section(monitoring_page(app).get_data(as_text=True), "platform")
    assert "等待 1 个，处理中 0 个，失败 1 个" in page
    assert "坏掉的视频" in page and "视频文件已损坏" in page and "排队的视频" not in page


def test_the_search_index_lag_is_shown(app, district):
    add_resource(district.teacher_a, title="还没进索引的微课")  # added straight to the database, never indexed
    page = section(monitoring_page(app).get_data(as_text=True), "platform")
    assert "缺少 1 个，过期 0 个，多余 0 个" in page

    search.reindex()
    assert "与资源库一致" in section(monitoring_page(app).get_data(as_text=True), "platform")


def test_only_the_district_admin_sees_the_monitoring_page(app, district):
    assert monitoring_page(app).status_code == 200
    for username in ("admin.a", "reviewer", "teacher.a", "student.a"):
        assert monitoring_page(app, username).status_code == 403, username
    for username, linked in (("admin", True), ("admin.a", False)):
        client = app.test_client()
        login(client, username)
        assert ('href="/admin/monitoring"' in client.get("/dashboard").get_data(as_text=True)) is linked


METRICS_TOKEN = "k9-Qz7vX2mLp4Rt8Ws1Yb6Nc3Hd5Jf0G"


def scrape(app, token=METRICS_TOKEN, **headers):
    return app.test_client().get("/api/v1/metrics", headers={"Authorization": f"Bearer {token}", **headers})


def gauges(response) -> dict:
    """Each sample of a scrape by its name and labels, as Prometheus itself parses the text."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True)) for sample in family.samples}


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": METRICS_TOKEN}])
def test_prometheus_reads_the_platform_and_library_figures(app, district, app_config):
    now = utcnow()
    add_resource(district.teacher_a, published_at=now - timedelta(days=400))
    resource = add_resource(district.teacher_b, published_at=now - timedelta(days=3))
    add_resource(district.teacher_a, status="draft", processing="failed", processing_error="视频文件已损坏")
    add_resource(district.teacher_a, status="draft", processing="pending")
    usage.record(district.student_a, resource, "view")
    usage.record(district.student_a, resource, "download")
    usage.record(district.teacher_a, resource, "view")

    response = scrape(app)
    assert response.status_code == 200 and response.content_type.startswith("text/plain; version=0.0.4")
    figures = gauges(response)
    assert figures[("reslib_worker_up", ())] == 0 and figures[("reslib_worker_last_seen_timestamp_seconds", ())] == 0
    assert [figures[("reslib_processing_resources", (("state", state),))] for state in ("pending", "running", "failed")] \
        == [1, 0, 1]
    assert figures[("reslib_library_resources", ())] == 2
    assert figures[("reslib_library_resources_added_last_year", ())] == 1
    assert figures[("reslib_library_renewal_target_ratio", ())] == monitoring.RENEWAL_TARGET
    assert figures[("reslib_usage_events_last_30_days", (("kind", "view"),))] == 2
    assert figures[("reslib_usage_events_last_30_days", (("kind", "download"),))] == 1
    assert figures[("reslib_resource_users_last_30_days", ())] == 2
    assert figures[("reslib_accounts", (("status", "pending"),))] == 2  # pending.a and pending.b
    assert figures[("reslib_accounts", (("status", "disabled"),))] == 0
    assert 0 < figures[("reslib_storage_free_bytes", ())] <= figures[("reslib_storage_size_bytes", ())]

    jobs.queue().note_worker_alive()
    figures = gauges(scrape(app))
    assert figures[("reslib_worker_up", ())] == 1
    assert abs(figures[("reslib_worker_last_seen_timestamp_seconds", ())] - time.time()) < 60


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": METRICS_TOKEN}])
def test_a_scraper_asking_for_openmetrics_gets_it(app, district, app_config):
    response = scrape(app, Accept="application/openmetrics-text; version=1.0.0")
    assert response.status_code == 200 and response.content_type.startswith("application/openmetrics-text")
    assert response.get_data(as_text=True).endswith("# EOF\n")


@pytest.mark.parametrize("app_config", [{"METRICS_TOKEN": METRICS_TOKEN}])
def test_only_the_metrics_token_reads_the_metrics(app, district, app_config):
    admin_token = accounts.create_token(district.district_admin, "监控")  # a person's token, even the admin's
    for token in ("", "wrong", METRICS_TOKEN[:-1], admin_token):
        response = scrape(app, token)
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized", token
    assert app.test_client().get("/api/v1/metrics").status_code == 401


def test_metrics_are_off_until_a_token_is_configured(app, district):
    response = scrape(app, "")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_enabled"
    assert "METRICS_TOKEN" in response.json["error"]["message"]
