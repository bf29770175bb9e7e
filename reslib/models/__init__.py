"""All core tables. Plugins define their own in their folders."""
from reslib.models.accounts import (  # noqa: F401
    ROLES,
    ApiToken,
    LoginSession,
    RosterEntry,
    School,
    Unit,
    User,
    UserRole,
)
from reslib.models.audit import AuditEvent  # noqa: F401
from reslib.models.base import AppendOnlyViolation, append_only, utcnow  # noqa: F401
from reslib.models.library import (  # noqa: F401
    Rating,
    Resource,
    ReviewAssignment,
    ReviewDecision,
    Term,
    UsageEvent,
)
