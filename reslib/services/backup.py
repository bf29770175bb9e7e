"""`reslib backup`, `reslib restore`: an online, consistent, verified copy of one district.

A backup folder holds:

- ``database.sqlite3`` (SQLite's backup API) or ``database.pgdump`` (``pg_dump --format=custom``): one snapshot;
- ``files/blobs/…``: every stored file that snapshot references, laid out as in the blob store;
- ``instance/config.py``: the instance settings with secret values redacted;
- ``manifest.json``, written last: what the backup is, and the sha256 and size of every file in it.

Why it is consistent while the site serves: blobs are content-addressed and never change, and an upload stores
its blob before its row is committed. So every blob the snapshot references is already on disk when the snapshot
is taken, and copying those blobs afterwards gives exactly the files the snapshot needs; files added later
belong to rows the snapshot does not have.
"""
import ast
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from flask import current_app
from sqlalchemy import MetaData, create_engine, inspect, select, text
from sqlalchemy.engine import URL, Connection, make_url

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Resource, User
from reslib.services import audit
from reslib.services.consistency import FILE_COLUMNS
from reslib.services.library import store
from reslib.services.storage import CHUNK_SIZE

FORMAT = "reslib-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_FILE = "database.sqlite3"
PGDUMP_FILE = "database.pgdump"
CONFIG_FILE = "instance/config.py"
BLOBS_DIR = "files/blobs"
REBUILD_INDEX = "reslib reindex"
# Setting names whose values are secrets: kept out of the backup in clear (matched on the name, any case).
SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
# user:password@ inside a URL setting (DATABASE_URL, QUEUE_URL, RATELIMIT_STORAGE_URI…)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/:@\s]*:)(?P<password>[^@/\s]+)(?=@)", re.IGNORECASE)
REDACTED = "REDACTED-BY-RESLIB-BACKUP"


@dataclass
class BackupResult:
    folder: Path
    manifest: dict
    missing: list[str] = field(default_factory=list)  # blobs the snapshot references but the store does not have
    damaged: list[str] = field(default_factory=list)  # blobs whose bytes no longer match their name: not copied

    @property
    def ok(self) -> bool:
        return not (self.missing or self.damaged)


@dataclass
class RestoreResult:
    manifest: dict
    blobs: int
    upgraded: bool


def _error(chinese: str, english: str, code: str) -> ReslibError:
    # Operators read both: the district's staff and whoever the district hires to run the server.
    return ReslibError(f"{chinese}（{english}）", code=code)


# --- backup ------------------------------------------------------------------------------------------


def backup(dest: Path) -> BackupResult:
    """Take a backup into ``dest`` (a new or empty folder) while the site keeps serving."""
    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise _error(f"备份目标 {dest} 不是空文件夹", f"backup destination {dest} is not an empty folder",
                     "backup_dest_not_empty")
    dest.mkdir(parents=True, exist_ok=True)
    kind = db.engine.dialect.name
    if kind == "sqlite":
        database_file, referenced, revisions = _snapshot_sqlite(dest)
    elif kind == "postgresql":
        database_file, referenced, revisions = _snapshot_postgresql(dest)
    else:
        raise _error(f"不支持备份 {kind} 数据库", f"backing up a {kind} database is not supported", "backup_unsupported")

    result = BackupResult(dest, manifest={})
    files = {database_file: _describe(dest / database_file)}
    files.update(_copy_blobs(sorted(referenced), dest, result))
    config_note = _copy_config(dest)
    if (dest / CONFIG_FILE).exists():
        files[CONFIG_FILE] = _describe(dest / CONFIG_FILE)

    result.manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "reslib_version": _reslib_version(),
        "database": {"kind": kind, "file": database_file, "alembic_revisions": revisions},
        "blobs": len(referenced) - len(result.missing) - len(result.damaged),
        "missing_blobs": result.missing,
        "damaged_blobs": result.damaged,
        "instance_config": config_note,
        "secrets": "not included: SECRET_KEY and ID_NUMBER_KEY (instance/secret_key, instance/id_number_key) and "
                   "every redacted setting are kept by the operator, apart from the backups",
        "search_index": f"not included: run `{REBUILD_INDEX}` after restoring",
        "files": files,
    }
    # Written last and renamed into place: a folder without manifest.json is an unfinished backup.
    partial = dest / (MANIFEST + ".part")
    partial.write_text(json.dumps(result.manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    _fsync(partial)
    os.replace(partial, dest / MANIFEST)

    from reslib.permissions import OPERATOR

    audit.record("backup.created", actor=OPERATOR, target=None,
                 result="ok" if result.ok else "denied",
                 detail=f"{dest}: {result.manifest['blobs']} files, {len(result.missing)} missing, "
                        f"{len(result.damaged)} damaged")
    db.session.commit()
    return result


def _snapshot_sqlite(dest: Path) -> tuple[str, set[str], list[str]]:
    source_path = db.engine.url.database
    target_path = dest / SQLITE_FILE
    source = sqlite3.connect(source_path, timeout=current_app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000)
    target = sqlite3.connect(target_path)
    try:
        # One step (pages=-1) under one read transaction: in WAL mode writers go on meanwhile, and the copy is
        # the database as of the moment the step began.
        source.backup(target)
        target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        target.close()
        source.close()
    engine = create_engine(f"sqlite:///{target_path}")
    try:
        with engine.connect() as snapshot:
            referenced, revisions = _referenced_blobs(snapshot), _alembic_revisions(snapshot)
    finally:
        engine.dispose()
    return SQLITE_FILE, referenced, revisions


def _snapshot_postgresql(dest: Path) -> tuple[str, set[str], list[str]]:
    pg_dump = _postgres_tool("pg_dump")
    uri, env = _libpq_target(db.engine.url)
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            # pg_dump reads the very snapshot this transaction holds, and so do the blob queries below: the
            # dump and the list of files to copy agree row for row.
            snapshot_id = conn.scalar(text("SELECT pg_export_snapshot()"))
            completed = subprocess.run(
                [pg_dump, "--format=custom", f"--snapshot={snapshot_id}", f"--file={dest / PGDUMP_FILE}",
                 f"--dbname={uri}"], env=env, capture_output=True, text=True)
            if completed.returncode != 0:
                raise _error(f"pg_dump 失败：{completed.stderr.strip()}", "pg_dump failed", "pg_dump_failed")
            referenced, revisions = _referenced_blobs(conn), _alembic_revisions(conn)
    return PGDUMP_FILE, referenced, revisions


def _referenced_blobs(conn: Connection) -> set[str]:
    columns = [Resource.__table__.c[name] for name in FILE_COLUMNS]
    return {sha for row in conn.execute(select(*columns)) for sha in row if sha}


def _alembic_revisions(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("alembic_version"):
        return []  # a database built without migrations (db.create_all)
    return sorted(conn.scalars(text("SELECT version_num FROM alembic_version")))


def _copy_blobs(shas: list[str], dest: Path, result: BackupResult) -> dict:
    files = store()
    described = {}
    for sha in shas:
        source = files.path(sha)
        relative = f"{BLOBS_DIR}/{sha[:2]}/{sha[2:4]}/{sha}"
        target = dest / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            digest, size = _copy_hashing(source, target)
        except FileNotFoundError:
            result.missing.append(sha)
            continue
        if digest != sha:  # damaged in the store: a copy under its name would only pass the damage on
            target.unlink()
            result.damaged.append(sha)
            continue
        described[relative] = {"sha256": digest, "size": size}
    return described


def _copy_hashing(source: Path, target: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with source.open("rb") as reader, target.open("xb") as writer:
        while chunk := reader.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return digest.hexdigest(), size


def _copy_config(dest: Path) -> str:
    config = Path(current_app.instance_path) / "config.py"
    if not config.is_file():
        return "the instance had no config.py"
    try:
        redacted, names = redact_config(config.read_text(encoding="utf-8"))
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return "instance/config.py could not be parsed, so it was left out rather than risk copying a secret"
    target = dest / CONFIG_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(redacted, encoding="utf-8")
    shown = ", ".join(names) if names else "none"
    return f"copied with secret values redacted ({shown}); settings from RESLIB_* environment variables are not included"


def redact_config(source: str) -> tuple[str, list[str]]:
    """config.py with the value of every secret-named setting replaced, and passwords cut out of URLs."""
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    edits, names = [], []
    for node in tree.body:
        if not isinstance(node, (ast.Assign, ast.AnnAssign)) or node.value is None:
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        setting = ",".join(t.id for t in targets if isinstance(t, ast.Name))
        start = offsets[node.value.lineno - 1] + len(lines[node.value.lineno - 1].encode()[:node.value.col_offset].decode())
        end = offsets[node.value.end_lineno - 1] + len(
            lines[node.value.end_lineno - 1].encode()[:node.value.end_col_offset].decode())
        value = source[start:end]
        if SECRET_NAME.search(setting):
            edits.append((start, end, f"None  # {REDACTED}: kept by the operator"))
            names.append(setting)
        elif URL_PASSWORD.search(value):
            edits.append((start, end, URL_PASSWORD.sub(rf"\g<head>{REDACTED}", value)))
            names.append(setting)
    for start, end, replacement in sorted(edits, reverse=True):
        source = source[:start] + replacement + source[end:]
    return source, names


# --- restore -----------------------------------------------------------------------------------------


def verify(folder: Path) -> dict:
    """Read the manifest and check every file it lists; refuse (listing them) on any missing or changed."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _error(f"{folder} 中没有 {MANIFEST}：不是 reslib 备份，或备份没有完成",
                     f"no {MANIFEST} in {folder}: not a reslib backup, or an unfinished one", "backup_no_manifest") from None
    except ValueError:
        raise _error(f"{MANIFEST} 已损坏", f"{MANIFEST} is damaged", "backup_bad_manifest") from None
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise _error("不认识的备份格式", f"unknown backup format {manifest.get('format')!r} "
                     f"version {manifest.get('format_version')!r}", "backup_bad_manifest")
    bad = []
    for relative, expected in manifest["files"].items():
        path = folder / relative
        if ".." in Path(relative).parts or Path(relative).is_absolute():
            bad.append(f"{relative}: outside the backup")
        elif not path.is_file():
            bad.append(f"{relative}: missing")
        elif path.stat().st_size != expected["size"]:
            bad.append(f"{relative}: size {path.stat().st_size} != {expected['size']}")
        else:
            with path.open("rb") as file:
                if hashlib.file_digest(file, "sha256").hexdigest() != expected["sha256"]:
                    bad.append(f"{relative}: sha256 mismatch")
    if bad:
        raise _error("备份文件校验失败，未恢复任何内容：\n" + "\n".join(bad),
                     "backup verification failed, nothing was restored", "backup_damaged")
    return manifest


def restore(folder: Path) -> RestoreResult:
    """Restore a verified backup into this (empty) instance, then upgrade its schema to the newest."""
    folder = Path(folder)
    manifest = verify(folder)
    kind = db.engine.dialect.name
    if manifest["database"]["kind"] != kind:
        raise _error(f"备份来自 {manifest['database']['kind']} 数据库，本实例使用 {kind}",
                     f"the backup is of a {manifest['database']['kind']} database, this instance uses {kind}",
                     "backup_wrong_database")
    _refuse_unless_empty()

    db.session.remove()
    if kind == "sqlite":
        _restore_sqlite(folder / manifest["database"]["file"])
    else:
        _restore_postgresql(folder / manifest["database"]["file"])

    files = store()
    blobs = 0
    for relative, expected in manifest["files"].items():
        if not relative.startswith(BLOBS_DIR + "/"):
            continue
        # put_file re-hashes, fsyncs and renames into place, as for an upload
        if files.put_file(folder / relative) != expected["sha256"]:
            raise _error(f"恢复时文件发生变化：{relative}", f"{relative} changed while being restored", "backup_damaged")
        blobs += 1

    upgraded = bool(manifest["database"]["alembic_revisions"])
    if upgraded:  # a backup from an older release gets this release's schema
        from flask_migrate import upgrade

        upgrade(revision="heads")
    from reslib.permissions import OPERATOR

    audit.record("backup.restored", actor=OPERATOR, target=None,
                 detail=f"{folder}: backup of {manifest['created_at']}, {blobs} files")
    db.session.commit()
    return RestoreResult(manifest, blobs, upgraded)


def _refuse_unless_empty() -> None:
    """Restore only replaces an instance with nothing in it: no accounts, no resources, no stored files."""
    tables = set(inspect(db.engine).get_table_names())
    reasons = []
    for model, chinese in ((User, "账号"), (Resource, "资源")):
        if model.__tablename__ in tables and db.session.scalar(select(model.id).limit(1)) is not None:
            reasons.append(f"数据库里已有{chinese}")
    if next(iter(store().iter_blobs()), None) is not None:
        reasons.append("存储目录里已有文件")
    db.session.rollback()
    if reasons:
        raise _error("只能恢复到空实例：" + "，".join(reasons) + "。请换一个新的实例目录和空数据库",
                     "restore only into an empty instance (no accounts, resources or stored files)",
                     "restore_target_not_empty")


def _restore_sqlite(backup_file: Path) -> None:
    db.engine.dispose()  # no pooled connection keeps the old schema cached
    target_path = db.engine.url.database
    source = sqlite3.connect(backup_file)
    target = sqlite3.connect(target_path)
    try:
        # The backup API in reverse: it replaces the database's pages whatever its journal mode, where copying
        # the file over a WAL database would leave the old -wal file to be replayed on top.
        source.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
    finally:
        target.close()
        source.close()


def _restore_postgresql(dump_file: Path) -> None:
    pg_restore = _postgres_tool("pg_restore")
    # The instance is empty (checked), but init-db may have built its tables: drop them so the dump's own
    # schema, sequences and data go in as they were.
    existing = MetaData()
    existing.reflect(bind=db.engine)
    existing.drop_all(bind=db.engine)
    db.engine.dispose()
    uri, env = _libpq_target(db.engine.url)
    completed = subprocess.run([pg_restore, "--no-owner", "--no-privileges", "--exit-on-error",
                                "--single-transaction", f"--dbname={uri}", str(dump_file)],
                               env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        raise _error(f"pg_restore 失败：{completed.stderr.strip()}", "pg_restore failed", "pg_restore_failed")


# --- helpers -----------------------------------------------------------------------------------------


def _postgres_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise _error(f"找不到 {name}：请安装 PostgreSQL 客户端（Debian/Ubuntu：apt-get install postgresql-client）",
                     f"{name} not found on PATH: install the PostgreSQL client tools", "postgres_client_missing")
    return found


def _libpq_target(url) -> tuple[str, dict]:
    """The SQLAlchemy URL as a libpq URI for pg_dump/pg_restore; the password goes through the environment
    (PGPASSWORD), never the command line, where any user on the server could read it."""
    url = make_url(url)
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                       query=url.query)
    return plain.render_as_string(hide_password=False), env


def _describe(path: Path) -> dict:
    with path.open("rb") as file:
        digest = hashlib.file_digest(file, "sha256").hexdigest()
    return {"sha256": digest, "size": path.stat().st_size}


def _fsync(path: Path) -> None:
    with path.open("rb") as file:
        os.fsync(file.fileno())


def _reslib_version() -> str:
    try:
        return version("reslib")
    except PackageNotFoundError:
        return "unknown"
