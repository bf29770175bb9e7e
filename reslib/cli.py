"""The ``reslib`` command (also ``flask --app reslib``): set-up, demo data, accounts, schools, plugins, backups."""
import faulthandler
import threading
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_migrate import upgrade
from sqlalchemy import select

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import ROLES, School
from reslib.permissions import OPERATOR
from reslib.plugins import describe, installed_plugins
from reslib.services import accounts, demo, roster, vocabularies


def _fail(exc: ReslibError):
    raise click.ClickException(exc.message)


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database to the newest schema (core and enabled plugins)."""
    upgrade(revision="heads")
    added = vocabularies.install_defaults()
    click.echo("数据库已是最新结构。" + (f"已建立默认词表（{added} 项）。" if added else ""))


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Only load when the database has no accounts yet.")
@with_appcontext
def demo_command(if_empty):
    """Load the demo district 东昌区教育局 and print its accounts."""
    if not demo.is_empty():
        if not if_empty:
            raise click.ClickException("数据库里已有账号，不再加载演示数据。")
        click.echo("数据库里已有数据，保留原样。")
        rows, added = demo.demo_accounts(), []
    else:
        rows, added = demo.load_demo()
        click.echo("已加载演示区县：" + current_app.config["DISTRICT_NAME"])
    click.echo(f"\n演示账号（初始密码均为 {demo.DEMO_PASSWORD}，若已修改则以修改后为准）：")
    for row in rows:
        click.echo(f"  {row['username']:<14} {row['name']:<10} {row['roles']:<16} {row['school']}  [{row['status']}]")
    click.echo("\n可以先试试：")
    for number, line in enumerate(demo.THINGS_TO_TRY + added, start=1):
        click.echo(f"  {number}. {line}")


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Tasks run at once (threads).")
@click.option("--drain", is_flag=True, help="Run what is queued now, then exit (no periodic tasks).")
@with_appcontext
def worker(workers, drain):
    """Run the background queue: media processing, sweeps, checksum checks and plugins' tasks."""
    queue = current_app.extensions["reslib.queue"]
    if drain:
        click.echo(f"已处理 {queue.run_pending()} 个任务。")
        return
    # A crash in C code (PyAV, Pillow, zxing-cpp…) writes every thread's Python traceback to stderr before the
    # process dies, so the log says which task it was.
    faulthandler.enable()
    click.echo(f"后台任务进程已启动（{workers} 个线程）。")
    threading.Thread(target=queue.keep_noting_worker_alive, name="heartbeat", daemon=True).start()
    queue.huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()


@click.command("check")
@click.option("--quick", is_flag=True, help="Skip re-hashing every stored file.")
@click.option("--sweep", "sweep", is_flag=True, help="Remove staging leftovers older than STAGING_MAX_AGE_SECONDS.")
@click.option("--sweep-older-than", type=float, default=None, help="Remove staging leftovers older than this many seconds.")
@click.option("--strict", is_flag=True, help="Also exit 1 on stored files no resource uses (orphans).")
@with_appcontext
def check_command(quick, sweep, sweep_older_than, strict):
    """Check that every resource has its files and every stored file is intact; exit 1 if not."""
    from reslib.services import consistency

    if sweep and sweep_older_than is None:
        sweep_older_than = current_app.config["STAGING_MAX_AGE_SECONDS"]
    report = consistency.check(verify=not quick, sweep_older_than=sweep_older_than)
    click.echo(f"资源 {report.resources} 条，存储文件 {report.files} 个。")
    if report.swept:
        click.echo(f"已清理暂存区残留 {report.swept} 个。")
    click.echo(f"暂存区残留（未完成的上传）：{report.staging} 个。")
    click.echo(f"未被引用的存储文件：{len(report.unreferenced)} 个。")
    for sha in report.unreferenced:
        click.echo(f"未被引用：{sha}")
    for line in report.missing:
        click.echo(f"缺少文件：{line}", err=True)
    for sha in report.damaged:
        click.echo(f"校验和不符：{sha}", err=True)
    from reslib.services import search

    missing, stale, orphans = search.stale_report()
    index_in_step = not (missing or stale or orphans)
    click.echo(f"搜索索引：缺少 {len(missing)} 个，过期 {len(stale)} 个，多余 {len(orphans)} 个"
               + ("。" if index_in_step else "（运行 reslib reindex 修复）"))
    # Orphans alone do not fail the check unless asked: an upload killed between storing its file and committing
    # its row leaves one, harmless (reslib backup copies only referenced files).
    if not report.ok or (strict and report.unreferenced):
        raise SystemExit(1)
    # The index is derived data, so it does not fail the check; but "passed" must not hide it either.
    click.echo("一致性检查通过。" if index_in_step else
               "文件与数据库一致；搜索索引没跟上数据库（后台任务进程 reslib worker 没有运行时会这样）。")


@click.command("backup")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@with_appcontext
def backup_command(dest):
    """Back up the database, its stored files and the settings (secrets redacted) into DEST, a new or empty
    folder, while the site serves."""
    from reslib.services import backup

    try:
        result = backup.backup(dest)
    except ReslibError as exc:
        _fail(exc)
    manifest = result.manifest
    click.echo(f"已备份到 {result.folder}：数据库（{manifest['database']['kind']}），文件 {manifest['blobs']} 个。")
    click.echo("密钥（SECRET_KEY、ID_NUMBER_KEY 等）不在备份中，请另行妥善保管。搜索索引未备份，恢复后运行 "
               f"{backup.REBUILD_INDEX}。")
    for sha in result.missing:
        click.echo(f"缺少文件（未备份）：{sha}", err=True)
    for sha in result.damaged:
        click.echo(f"校验和不符（未备份）：{sha}", err=True)
    if not result.ok:
        raise click.ClickException("备份已完成，但有文件缺失或损坏，见上（运行 reslib check 查看详情）。")


@click.command("restore")
@click.argument("src", type=click.Path(exists=True, file_okay=False, path_type=Path))
@with_appcontext
def restore_command(src):
    """Verify the backup in SRC, then restore it into this instance, which must be empty; upgrade its schema."""
    from reslib.services import backup

    try:
        result = backup.restore(src)
    except ReslibError as exc:
        _fail(exc)
    manifest = result.manifest
    click.echo(f"已校验并恢复 {manifest['created_at']} 的备份：数据库与文件 {result.blobs} 个。"
               + ("数据库结构已升级到最新。" if result.upgraded else ""))
    click.echo("接下来：")
    click.echo("  1. 放回另行保管的密钥（instance/secret_key、instance/id_number_key 或配置中的 SECRET_KEY、"
               "ID_NUMBER_KEY）；备份中的 instance/config.py 是去掉密钥的参考副本。")
    click.echo(f"  2. 运行 {backup.REBUILD_INDEX} 重建搜索索引（先停止后台任务进程 reslib worker：索引只有一个写入者）。")
    click.echo("  3. 运行 reslib check 确认每个资源都有其文件。")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", required=True, help="The admin account the resources will belong to.")
@click.option("--school", default=None, help="学校名称: import into that school's library (default: the district library).")
@click.option("--dry-run", is_flag=True, help="Check every row, change nothing.")
@with_appcontext
def import_command(file, username, school, dry_run):
    """Import catalogue records (CSV, XLSX or JSON Lines with the national metadata standard's columns)."""
    from reslib.services import importer

    actor = accounts.user_by_username(username)
    if actor is None or not actor.is_active:
        raise click.ClickException(f"没有可用的账号 {username}")
    try:
        library = accounts.find_school_by_name(school).id if school else "district"
        with click.progressbar(length=1, label="导入") as bar:
            def progress(step, done, total):
                bar.label, bar.length = ("检查" if step == "check" else "写入"), total
                bar.update(done - bar.pos)

            report = importer.import_records(actor, file.name, file.read_bytes(), library=library,
                                             dry_run=dry_run, progress=progress)
    except ReslibError as exc:
        _fail(exc)
    for line in report.lines:
        click.echo(line, err=True)
    click.echo(f"共 {report.rows} 行：新建 {report.created}，更新 {report.updated}，未变 {report.unchanged}"
               + ("（只检查，未导入）" if report.dry_run else ""))
    if report.errors:
        raise SystemExit(1)


@click.command("reindex")
@with_appcontext
def reindex_command():
    """Rebuild the search index from the database. Stop the worker first: the index has one writer."""
    from reslib.services import search

    with click.progressbar(length=search.indexable_count(), label="重建索引") as bar:
        count = search.reindex(progress=bar.update)
    click.echo(f"已索引 {count} 个资源。")


users = click.Group("users", help="Accounts.")
schools = click.Group("schools", help="Schools and units.")


@users.command("create")
@click.option("--username", required=True)
@click.option("--password", required=True)
@click.option("--name", "real_name", required=True, help="真实姓名")
@click.option("--role", "roles", required=True, multiple=True, type=click.Choice(list(ROLES)), help="repeat for several")
@click.option("--school", default=None, help="学校名称")
@click.option("--identifier", default=None, help="学号或工号")
@with_appcontext
def users_create(username, password, real_name, roles, school, identifier):
    """Create a verified account."""
    try:
        user = accounts.create_user(username=username, password=password, real_name=real_name, roles=roles,
                                    school_name=school, identifier=identifier, actor=OPERATOR)
    except ReslibError as exc:
        _fail(exc)
    click.echo(f"已创建账号 {user.username}（{user.real_name}）。")


@users.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--school", required=True, help="学校名称")
@click.option("--dry-run", is_flag=True, help="Check the file, change nothing.")
@with_appcontext
def users_import(file, school, dry_run):
    """Import a school's roster (CSV or XLSX: 姓名, 学号/工号, 身份)."""
    try:
        report = roster.import_roster(OPERATOR, accounts.find_school_by_name(school), file.name, file.read_bytes(),
                                      dry_run=dry_run)
    except ReslibError as exc:
        _fail(exc)
    _print_report(report)


@users.command("list")
@click.option("--school", default=None, help="学校名称")
@click.option("--status", type=click.Choice(["pending", "active", "rejected", "disabled"]), default=None)
@with_appcontext
def users_list(school, status):
    """List accounts."""
    try:
        school_id = accounts.find_school_by_name(school).id if school else None
    except ReslibError as exc:
        _fail(exc)
    for user in db.session.scalars(accounts.accounts_query(OPERATOR, school_id=school_id, status=status)):
        school_name = user.school.name if user.school else "-"
        click.echo(f"{user.username}\t{user.real_name}\t{','.join(sorted(user.roles))}\t{school_name}\t{user.status}")


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label to tell tokens apart.")
@with_appcontext
def users_token(username, name):
    """Print a new API token for USERNAME."""
    user = accounts.user_by_username(username)
    if user is None or not user.is_active:
        raise click.ClickException(f"没有可用的账号 {username}")
    click.echo(accounts.create_token(user, name))


@schools.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check the file, change nothing.")
@with_appcontext
def schools_import(file, dry_run):
    """Import schools (CSV or XLSX: 学校名称, 所属单位, 学校代码)."""
    try:
        report = roster.import_schools(OPERATOR, file.name, file.read_bytes(), dry_run=dry_run)
    except ReslibError as exc:
        _fail(exc)
    _print_report(report)


@schools.command("list")
@with_appcontext
def schools_list():
    """List schools with their unit."""
    for school in db.session.scalars(select(School).order_by(School.name)):
        click.echo(f"{school.code or '-'}\t{school.name}\t{school.unit.name}")


@click.command("plugins")
@with_appcontext
def plugins_command():
    """List installed plugins, which are enabled, and the hooks each implements."""
    registered = {row["name"]: row for row in describe(current_app.extensions["reslib.plugins"])}
    for name in sorted(installed_plugins()):
        row = registered.get(name)
        state = "enabled " if row else "disabled"
        click.echo(f"{state} {name}: {', '.join(row['hooks']) if row else '-'}")
    for name, row in registered.items():
        if row["default"]:
            click.echo(f"core     {name}: {', '.join(row['hooks'])}")


def _print_report(report) -> None:
    for line in report.errors:
        click.echo(line, err=True)
    verb = "将" if report.dry_run else "已"
    click.echo(f"{verb}新增 {report.created}，{verb}更新 {report.updated}，{verb}通过审核 {report.verified}。")
    if report.errors:
        raise click.ClickException(f"{len(report.errors)} 行有错误，没有导入任何内容。")


def init_app(app) -> None:
    for command in (init_db, demo_command, users, schools, plugins_command, worker, check_command, import_command,
                    reindex_command, backup_command, restore_command):
        app.cli.add_command(command)


def main():
    from reslib import create_app

    FlaskGroup(create_app=create_app, help="reslib — 区级数字化教学资源库")(prog_name="reslib")
