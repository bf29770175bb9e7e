"""`reslib backup` while the site serves, `reslib restore` into a fresh instance, `reslib check`: nothing lost.

On SQLite by default, on PostgreSQL when RESLIB_TEST_DATABASE_URL names one (the restored instance then gets a
database of its own beside it)."""
import hashlib
import io
import json
import os
import threading
from contextlib import contextmanager

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from reslib.extensions import db
from reslib.models import Resource
from reslib.permissions import OPERATOR
from reslib.services import accounts, audit, library, usage
from reslib.testing import (MINIMAL_PDF, District, add_resource, login, make_test_app, ready_resource, running,
                            to_district_review)


@contextmanager
def source_instance(tmp_path):
    """A district built by the migrations (as `reslib init-db` does), so the backup records alembic heads."""
    with running(make_test_app(tmp_path / "source")) as app:
        upgrade(revision="heads")
        yield app


@contextmanager
def fresh_instance(tmp_path):
    """An empty instance with its own database: nothing created in it, as on a new server."""
    url = os.environ.get("RESLIB_TEST_DATABASE_URL")
    if not url:
        with running(make_test_app(tmp_path / "target")) as app:
            yield app
        return
    target = make_url(url).set(database=make_url(url).database + "_restore")
    server = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    try:
        with running(make_test_app(tmp_path / "target", SQLALCHEMY_DATABASE_URI=target.render_as_string(
                hide_password=False))) as app:
            yield app
    finally:
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        server.dispose()


def fill_district() -> dict:
    district = District()
    published = add_resource(district.teacher_a, title="勾股定理微课")
    usage.rate(district.student_b, published, 5, "讲得清楚")
    reviewed = ready_resource(district.teacher_a, title="分数的意义")
    to_district_review(district, reviewed)  # a submission and a school admin's decision, each logged
    accounts.create_user(username="teacher.c", password="Lesson#Plan42", real_name="赵老师", roles=["teacher"],
                         school_name=district.school_c.name, identifier="T3002", actor=OPERATOR)
    audit.record("backup.drill", actor=OPERATOR, target=published, detail="演练")
    db.session.commit()
    return {"published": published.id, "teacher": district.teacher_a.id}


def table_rows() -> dict[str, dict[tuple, tuple]]:
    """Every row of every table, by primary key."""
    rows = {}
    for table in db.metadata.sorted_tables:
        keys = [column.name for column in table.primary_key.columns]
        query = select(table).order_by(*table.primary_key.columns)
        rows[table.name] = {tuple(row._mapping[k] for k in keys): tuple(row) for row in db.session.execute(query)}
    db.session.rollback()
    return rows


def without_restore_audit(rows: dict) -> dict:
    """The restore logs itself in the restored instance; that one row is not the backup's."""
    audit_rows = rows["audit_event"]
    return {**rows, "audit_event": {k: v for k, v in audit_rows.items() if "backup.restored" not in v}}


def assert_restored_between(before: dict, restored: dict, after: dict) -> None:
    """The restored rows are the source as of one moment between ``before`` and ``after``: every row that
    existed before is there, no row that never existed is, and every row the concurrent traffic left alone is
    identical. (Rows it changed, such as running totals, may be in any state they passed through.)"""
    for name, rows in restored.items():
        assert before[name].keys() <= rows.keys() <= after[name].keys(), name
        for key, row in rows.items():
            if before[name].get(key, after[name][key]) == after[name][key]:
                assert row == after[name][key], (name, key)


def stored_files() -> dict[str, str]:
    """sha name → sha256 of the bytes actually stored."""
    files = library.store()
    found = {}
    for sha in files.iter_blobs():
        with files.path(sha).open("rb") as file:
            found[sha] = hashlib.file_digest(file, "sha256").hexdigest()
    return found


def referenced_files() -> set[str]:
    columns = [getattr(Resource, name) for name in ("file_sha256", "cover_sha256", "thumb_sha256", "rendition_sha256")]
    found = {sha for row in db.session.execute(select(*columns)) for sha in row if sha}
    db.session.rollback()
    return found


def keep_uploading_and_downloading(app, client, teacher_id, resource_id, stop: threading.Event, done: list):
    """Uploads through the upload service and downloads through the site (a signed-in client), until told to stop."""
    with app.app_context():
        number = 0
        while not stop.is_set() or number < 3:
            number += 1
            teacher = db.session.get(accounts.User, teacher_id)
            content = MINIMAL_PDF + f"%upload {number}\n".encode()
            created = library.create_from_upload(teacher, io.BytesIO(content), f"并发课件{number}.pdf")
            done.append(created.id)
            with client.get(f"/resources/{resource_id}/download") as response:  # streams the file: close it
                assert response.status_code == 200
            db.session.remove()


def test_backup_while_serving_restores_every_row_and_file_and_the_site_serves(tmp_path):
    folder = tmp_path / "backup"
    with source_instance(tmp_path) as source:
        ids = fill_district()
        downloader = source.test_client()
        login(downloader, "student.b")  # signing in changes the account's row: done before the rows are taken
        before = table_rows()
        stop, uploaded = threading.Event(), []
        writer = threading.Thread(target=keep_uploading_and_downloading,
                                  args=(source, downloader, ids["teacher"], ids["published"], stop, uploaded))
        writer.start()
        try:
            while len(uploaded) < 2:  # the backup starts with uploads under way
                writer.join(0.01)
                assert writer.is_alive() or len(uploaded) >= 2, "the uploading thread died"
            result = source.test_cli_runner().invoke(args=["backup", str(folder)])
        finally:
            stop.set()
            writer.join(60)
        assert result.exit_code == 0, result.output
        assert len(uploaded) >= 3
        after = table_rows()
        source_files = stored_files()
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["database"]["alembic_revisions"]
        assert "reindex" in manifest["search_index"]
        assert "backup.created" in {row.action for row in db.session.scalars(select(audit.AuditEvent))}

    with fresh_instance(tmp_path) as target:
        result = target.test_cli_runner().invoke(args=["restore", str(folder)])
        assert result.exit_code == 0, result.output
        assert "reslib reindex" in result.output
        assert_restored_between(before, without_restore_audit(table_rows()), after)
        # Rows and files agree: each restored row's files are there, identical, and nothing else is.
        restored_files = stored_files()
        assert set(restored_files) == referenced_files()
        assert all(restored_files[sha] == sha == source_files[sha] for sha in restored_files)
        check = target.test_cli_runner().invoke(args=["check", "--strict"])
        assert check.exit_code == 0, check.output

        client = target.test_client()
        assert client.get("/login").status_code == 200
        login(client, "teacher.a")
        assert client.get(f"/resources/{ids['published']}").status_code == 200


def test_a_backup_of_a_quiet_site_restores_every_row_exactly(tmp_path):
    with source_instance(tmp_path) as source:
        fill_district()
        result = source.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
        source_rows = table_rows()
        source_rows["audit_event"] = {k: v for k, v in source_rows["audit_event"].items() if "backup.created" not in v}
        source_files = stored_files()
    with fresh_instance(tmp_path) as target:
        result = target.test_cli_runner().invoke(args=["restore", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
        assert without_restore_audit(table_rows()) == source_rows
        assert stored_files() == source_files


def test_secrets_stay_out_of_the_backup(tmp_path):
    with source_instance(tmp_path) as source:
        (tmp_path / "source" / "instance" / "config.py").write_text(
            'DISTRICT_NAME = "东昌区教育局"\nSECRET_KEY = "s3cret-session-key"\n'
            'METRICS_TOKEN = (\n    "long-metrics-token"\n)\n'
            'QUEUE_URL = "redis://reslib:redis-pass@127.0.0.1:6379/1"\n', encoding="utf-8")
        District()
        result = source.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
    everything = b"".join(path.read_bytes() for path in (tmp_path / "backup").rglob("*") if path.is_file())
    for secret in (b"s3cret-session-key", b"long-metrics-token", b"redis-pass", b"test-secret", b"test-id-key"):
        assert secret not in everything
    copied = (tmp_path / "backup" / "instance" / "config.py").read_text(encoding="utf-8")
    assert 'DISTRICT_NAME = "东昌区教育局"' in copied
    assert "redis://reslib:REDACTED-BY-RESLIB-BACKUP@127.0.0.1:6379/1" in copied
    compile(copied, "config.py", "exec")  # still a valid settings file


@pytest.fixture
def backed_up(tmp_path):
    with source_instance(tmp_path) as source:
        District()
        add_resource(accounts.user_by_username("teacher.a"))
        result = source.test_cli_runner().invoke(args=["backup", str(tmp_path / "backup")])
        assert result.exit_code == 0, result.output
    return tmp_path / "backup"


def test_restore_refuses_a_tampered_backup_and_names_the_file(tmp_path, backed_up):
    manifest = json.loads((backed_up / "manifest.json").read_text())
    blob = next(name for name in manifest["files"] if name.startswith("files/blobs/"))
    (backed_up / blob).chmod(0o644)
    (backed_up / blob).write_bytes(MINIMAL_PDF.replace(b"200", b"300"))
    with fresh_instance(tmp_path) as target:
        result = target.test_cli_runner().invoke(args=["restore", str(backed_up)])
        assert result.exit_code == 1
        assert blob in result.output and "sha256 mismatch" in result.output
        assert stored_files() == {}


def test_restore_refuses_an_instance_that_is_not_empty(tmp_path, backed_up):
    with fresh_instance(tmp_path) as target:
        db.create_all()
        District()
        result = target.test_cli_runner().invoke(args=["restore", str(backed_up)])
        assert result.exit_code == 1
        assert "只能恢复到空实例" in result.output and "数据库里已有账号" in result.output


def test_backup_refuses_a_folder_with_something_in_it(app, runner, district, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.txt").write_text("x")
    result = runner.invoke(args=["backup", str(tmp_path / "full")])
    assert result.exit_code == 1 and "不是空文件夹" in result.output


def test_check_reports_a_damaged_a_missing_and_an_orphan_file(app, runner, district):
    files = library.store()
    damaged = add_resource(district.teacher_a, title="损坏", content=MINIMAL_PDF + b"%damaged\n")
    missing = add_resource(district.teacher_a, title="丢失", content=MINIMAL_PDF + b"%missing\n")
    orphan = files.put_bytes(b"no row uses me")
    path = files.path(damaged.file_sha256)
    path.chmod(0o644)
    path.write_bytes(b"changed on disk")
    files.path(missing.file_sha256).unlink()

    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"校验和不符：{damaged.file_sha256}" in result.output
    assert f"缺少文件：resource {missing.id}: file_sha256 {missing.file_sha256}" in result.output
    assert f"未被引用：{orphan}" in result.output


def test_check_strict_fails_on_an_orphan_alone(app, runner, district):
    add_resource(district.teacher_a)
    assert runner.invoke(args=["check", "--quick", "--strict"]).exit_code == 0
    library.store().put_bytes(b"no row uses me")
    assert runner.invoke(args=["check", "--quick"]).exit_code == 0
    assert runner.invoke(args=["check", "--quick", "--strict"]).exit_code == 1
