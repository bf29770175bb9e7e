from datetime import UTC, datetime

from sqlalchemy import event
from sqlalchemy.orm import Session


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
