"""Units (区县/片区), schools, accounts with real-name verification, rosters, sessions, API tokens."""
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, joinedload, mapped_column, relationship

from reslib.extensions import db
from reslib.models.base import utcnow

# Role codes and their display names. A person may hold several.
ROLES = {
    "student": _l("学生"),
    "teacher": _l("教师"),
    "school_admin": _l("学校管理员"),
    "reviewer": _l("评审专家"),
    "district_admin": _l("区教育局管理员"),
}
SELF_REGISTER_ROLES = ("student", "teacher")
SCHOOL_ROLES = ("student", "teacher", "school_admin")  # roles that need a school

# Account states: pending until the school verifies; rejected with a reason; disabled by an admin.
STATUSES = {
    "pending": _l("待审核"),
    "active": _l("正常"),
    "rejected": _l("未通过"),
    "disabled": _l("已停用"),
}


class Unit(db.Model):
    """An administrative unit of the district (区县 or 片区) grouping schools; quotas are per unit."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    schools: Mapped[list["School"]] = relationship(back_populates="unit", order_by="School.name")


class School(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    unit: Mapped[Unit] = relationship(back_populates="schools")


class User(db.Model):
    __tablename__ = "account"  # "user" is reserved in PostgreSQL
    __table_args__ = (UniqueConstraint("school_id", "identifier", name="uq_account_school_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    real_name: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("school.id"), index=True)
    identifier: Mapped[str | None] = mapped_column(String(32))  # the school's student/teacher number
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # keyed hash, never clear
    id_number_masked: Mapped[str | None] = mapped_column(String(18))
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    status_reason: Mapped[str | None] = mapped_column(String(255))
    must_change_password: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    last_login_at: Mapped[datetime | None]

    school: Mapped[School | None] = relationship()
    role_rows: Mapped[list["UserRole"]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", back_populates="user"
    )

    # Set by the login machinery: which LoginSession this request's user came through.
    current_session_key = None

    @property
    def roles(self) -> set[str]:
        return {row.role for row in self.role_rows}

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def set_roles(self, roles) -> None:
        wanted = set(roles)
        self.role_rows = [r for r in self.role_rows if r.role in wanted] + [
            UserRole(role=role) for role in sorted(wanted - self.roles)
        ]

    @property
    def role_labels(self) -> list[str]:
        return [str(ROLES[r]) for r in ROLES if r in self.roles]

    @property
    def status_label(self) -> str:
        return str(STATUSES[self.status])

    def is_locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    @property
    def locked(self) -> bool:
        """Locked out by repeated failed logins right now (shown to admins, who can unlock)."""
        return self.is_locked(utcnow())

    # --- Flask-Login protocol --------------------------------------------------------------
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        # The session cookie names the login session, so logging out ends exactly that one.
        return f"{self.id}:{self.current_session_key}"


def shown_by_name(accounts, *, with_roles: bool = False):
    """Loader option for the accounts behind relationship ``accounts`` on a page that shows only their names:
    loaded with the query, and their roles (by default a query of their own whenever accounts load) only
    when something asks for them, or ``with_roles``, all in one more query (a pupil's name is shown whole
    only to some: see the account.full_name rule)."""
    option = joinedload(accounts)
    return option.selectinload(User.role_rows) if with_roles else option.lazyload(User.role_rows)


class UserRole(db.Model):
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")


class RosterEntry(db.Model):
    """A person the school says belongs to it; a registration matching name and number is verified at once."""

    __table_args__ = (UniqueConstraint("school_id", "identifier", name="uq_roster_entry_school_identifier"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("school.id"), index=True)
    identifier: Mapped[str] = mapped_column(String(32))
    real_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(32))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    school: Mapped[School] = relationship()


class LoginSession(db.Model):
    """One signed-in browser. The cookie carries a random key; only its hash is stored."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()


class ApiToken(db.Model):
    """A personal token for the JSON API; only its hash is stored, the prefix helps people tell them apart."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    user: Mapped[User] = relationship()
