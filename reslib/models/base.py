from datetime import UTC, datetime

from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from reslib.extensions import db


MAX_ID = 2**31 - 1  # the largest id an INTEGER column holds in PostgreSQL (SQLite's hold more)


def as_id(text) -> int | None:
    """The row id written in ``text`` (a query or form value), or None when it is not a whole number that
    an id can be: a larger one would make the database refuse the query, not just find nothing."""
    text = str(text if text is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(MAX_ID)):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def get_by_id(model, text):
    """The ``model`` row whose id ``text`` names, or None (also when it names no id at all)."""
    row_id = as_id(text)
    return db.session.get(model, row_id) if row_id is not None else None


def hold_status(row) -> bool:
    """Hold ``row``'s database row until this transaction ends, provided its status is still the one this
    session loaded; False, holding nothing, if it is not. Of two steps sent at once (two admins, a second
    tab) the later one waits here for the first to end, then finds the status changed.

    An UPDATE that changes nothing does it on every database: SQLite ignores SELECT … FOR UPDATE."""
    model = type(row)
    unchanged = {"status": model.status}
    if "updated_at" in model.__table__.c:
        unchanged["updated_at"] = model.updated_at  # or its onupdate stamp would count as a change
    held = db.session.execute(update(model).where(model.id == row.id, model.status == row.status)
                              .values(**unchanged).execution_options(synchronize_session=False))
    return held.rowcount == 1


def utcnow() -> datetime:
    """Naive UTC, the one form every timestamp column holds (SQLite keeps no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)


class AppendOnlyViolation(RuntimeError):
    """The app tried to change or delete a row of an append-only table."""


_APPEND_ONLY: set[type] = set()


def append_only(model):
    """Class decorator: the model's rows are written once; corrections are new rows, never edits."""
    _APPEND_ONLY.add(model)
    return model


@event.listens_for(Session, "before_flush")
def _refuse_append_only_changes(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if type(obj) in _APPEND_ONLY and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows cannot be changed or deleted")


@event.listens_for(Engine, "before_cursor_execute", retval=True)
def _text_without_nul(conn, cursor, statement, parameters, context, executemany):
    """Strip NUL characters from every text sent to the database. PostgreSQL refuses text holding one (SQLite
    keeps it), so a NUL typed into a search box, a form or a roster file would otherwise fail the request on
    one database and not the other; in text it never means anything."""
    return statement, _without_nul(parameters)


def _without_nul(value):
    """``value`` with NUL removed from its texts: a row (dict or tuple), or a list or tuple of rows."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {name: _without_nul(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(map(_without_nul, value))
    return value


def create_append_only_triggers(op, table: str) -> None:
    """Migrations: make ``table`` append-only in the database too, not just in the app."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    else:
        op.execute(f"CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$ BEGIN "
                   f"RAISE EXCEPTION '{table} is append-only'; END $$ LANGUAGE plpgsql")
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()")


def drop_append_only_triggers(op, table: str) -> None:
    if op.get_bind().dialect.name != "sqlite":  # SQLite drops a table's triggers with it
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute(f"DROP FUNCTION {table}_append_only()")
