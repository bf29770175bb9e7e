from datetime import UTC, datetime


def utcnow() -> datetime:
    """Naive UTC, the one form every timestamp column holds (SQLite keeps no zone)."""
    return datetime.now(UTC).replace(tzinfo=None)
