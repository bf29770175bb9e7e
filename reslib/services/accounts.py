"""Accounts: registration, real-name verification, login and sessions, lifecycle, API tokens."""
import functools
import hashlib
import secrets
import string
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.messages import in_district_language
from reslib.models import ROLES, ApiToken, LoginSession, RosterEntry, School, User, UserRole, utcnow
from reslib.models.accounts import SCHOOL_ROLES, SELF_REGISTER_ROLES, STATUSES
from reslib.models.base import get_by_id, hold_status
from reslib.permissions import require
from reslib.plugins import hooks
from reslib.services import audit
from reslib.services.tables import xlsx_bytes
from reslib.services.identity import (
    check_password_policy,
    normalise_identifier,
    normalise_real_name,
    normalise_username,
    protect_national_id,
)

TOKEN_PREFIX = "rl_"


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- password hashes -----------------------------------------------------------------------

def _hasher() -> PasswordHasher:
    config = current_app.config
    return _argon2id(config["PASSWORD_ARGON2_TIME_COST"], config["PASSWORD_ARGON2_MEMORY_KIB"],
                     config["PASSWORD_ARGON2_PARALLELISM"])


@functools.cache
def _argon2id(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(stored: str, password: str) -> bool:
    """Whether ``password`` matches ``stored``: an argon2 hash, or werkzeug's (scrypt:…, pbkdf2:…) from before."""
    if not stored.startswith("$argon2"):
        return check_password_hash(stored, password)
    try:
        return _hasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _outdated(stored: str) -> bool:
    return not stored.startswith("$argon2id$") or _hasher().check_needs_rehash(stored)


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    return hasher.hash(secrets.token_hex(8))


def _spend_a_password_check(password: str) -> None:
    """As long as checking a real account's password takes, so response times do not tell who has one."""
    verify_password(_dummy_hash(_hasher()), password)


def get_user(user_id) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise ReslibError(_("账号不存在"), code="not_found", status=404)
    return user


def user_by_username(username: str) -> User | None:
    """The account signing in, named in a command or on a form, as typed (case and spaces aside)."""
    return db.session.scalar(select(User).where(User.username == (username or "").strip().lower()))


def get_school(school_id) -> School:
    school = get_by_id(School, school_id)
    if school is None:
        raise ReslibError(_("请选择学校"), field="school_id")
    return school


def find_school_by_name(name: str) -> School:
    school = db.session.scalar(select(School).where(School.name == (name or "").strip()))
    if school is None:
        raise ReslibError(_("没有名为“%(name)s”的学校", name=name), field="school")
    return school


def _check_unique(username: str, school_id, identifier, id_number_hash, *, exclude_id=None) -> None:
    def taken(*conditions):
        stmt = select(User.id).where(*conditions)
        if exclude_id:
            stmt = stmt.where(User.id != exclude_id)
        return db.session.scalar(stmt.limit(1)) is not None

    if username and taken(User.username == username):
        raise ReslibError(_("用户名已被使用"), field="username", code="duplicate")
    if identifier and school_id and taken(User.school_id == school_id, User.identifier == identifier):
        raise ReslibError(_("本校已有使用这个学号或工号的账号，如有疑问请联系学校管理员"), field="identifier", code="duplicate")
    if id_number_hash and taken(User.id_number_hash == id_number_hash):
        raise ReslibError(_("这个身份证号码已经注册过账号"), field="id_number", code="duplicate")


def _roster_match(user: User) -> RosterEntry | None:
    if not user.school_id or not user.identifier:
        return None
    entry = db.session.scalar(
        select(RosterEntry).where(RosterEntry.school_id == user.school_id, RosterEntry.identifier == user.identifier)
    )
    if entry and entry.real_name == user.real_name and user.has_role(entry.role):
        return entry
    return None


def mark_verified(user: User, actor) -> None:
    user.status, user.status_reason = "active", None
    user.verified_at, user.verified_by_id = utcnow(), getattr(actor, "id", None)


def register(*, username, password, real_name, role, school_id, identifier, id_number=None) -> User:
    """Self-registration of a student or teacher. Verified at once when the school's roster vouches for them."""
    username = normalise_username(username)
    real_name = normalise_real_name(real_name)
    identifier = normalise_identifier(identifier)
    if role not in SELF_REGISTER_ROLES:
        raise ReslibError(_("请选择身份：学生或教师"), field="role")
    school = get_school(school_id)
    id_hash, id_masked = protect_national_id(id_number) if (id_number or "").strip() else (None, None)
    check_password_policy(password, username)
    _check_unique(username, school.id, identifier, id_hash)

    user = User(
        username=username, password_hash=hash_password(password), real_name=real_name, school_id=school.id,
        identifier=identifier, id_number_hash=id_hash, id_number_masked=id_masked, status="pending",
    )
    user.set_roles([role])
    db.session.add(user)
    audit.record("account.registered", actor=user, target=user, school_id=school.id)
    matched = _roster_match(user)
    if matched:
        mark_verified(user, None)
        audit.record("account.verified", target=user, school_id=school.id, detail=_l("与学校花名册一致，自动通过"))
    db.session.commit()
    hooks().account_changed(user=user, change="registered", actor=None)
    if matched:
        hooks().account_changed(user=user, change="verified", actor=None)
    return user


def create_user(*, username, password, real_name, roles, school_name=None, identifier=None, actor=None) -> User:
    """An operator's account creation (CLI, demo): verified at once."""
    username = normalise_username(username)
    real_name = normalise_real_name(real_name)
    roles = set(roles)
    unknown = roles - set(ROLES)
    if not roles or unknown:
        raise ReslibError(_("未知角色：%(roles)s", roles=", ".join(sorted(unknown)) or "-"), field="role")
    school = find_school_by_name(school_name) if school_name else None
    if roles & set(SCHOOL_ROLES) and school is None:
        raise ReslibError(_("学生、教师和学校管理员必须属于一所学校"), field="school")
    identifier = normalise_identifier(identifier) if identifier else None
    check_password_policy(password, username)
    _check_unique(username, getattr(school, "id", None), identifier, None)
    user = User(
        username=username, password_hash=hash_password(password), real_name=real_name,
        school_id=getattr(school, "id", None), identifier=identifier,
    )
    user.set_roles(roles)
    mark_verified(user, actor)
    db.session.add(user)
    with in_district_language():
        audit.record("account.created", actor=actor, target=user, detail="、".join(user.role_labels))
    db.session.commit()
    hooks().account_changed(user=user, change="verified", actor=actor)
    return user


# --- signing in --------------------------------------------------------------------------------

def _login_failure_message() -> str:
    return _("用户名或密码错误。连续多次输错后，账号会被临时锁定 %(m)s 分钟。", m=current_app.config["LOGIN_LOCKOUT_MINUTES"])


def authenticate(username: str, password: str) -> User:
    """Return the account if the password is right and it may sign in.

    Unknown user, wrong password and a locked account all get the same answer in the same time, so the
    form cannot be used to find out who has an account. A hash from before argon2id, or with other
    parameters than configured, is replaced at a successful sign-in, the one moment the password is known.
    """
    now = utcnow()
    password = password or ""
    user = user_by_username(username)
    if user is None:
        _spend_a_password_check(password)
        audit.record("login.failed", target=f"account:{(username or '')[:40]}", result="denied", detail=_l("没有这个用户名"))
        db.session.commit()
        raise ReslibError(_login_failure_message(), code="bad_credentials", status=401)
    if user.is_locked(now):
        _spend_a_password_check(password)
        audit.record("login.failed", target=user, result="denied", detail=_l("账号已锁定"))
        db.session.commit()
        raise ReslibError(_login_failure_message(), code="bad_credentials", status=401)
    if not verify_password(user.password_hash, password):
        user.failed_logins += 1
        audit.record("login.failed", target=user, result="denied", detail=_l("连续第 %(n)s 次失败", n=user.failed_logins))
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
            user.failed_logins = 0
            audit.record("login.locked", target=user, result="denied")
        db.session.commit()
        raise ReslibError(_login_failure_message(), code="bad_credentials", status=401)
    if user.status != "active":
        audit.record("login.refused", target=user, result="denied", detail=STATUSES[user.status])
        db.session.commit()
        messages = {
            "pending": _("账号正在等待学校管理员审核，审核通过后即可登录。"),
            "rejected": _("账号注册未通过审核：%(reason)s", reason=user.status_reason or "-"),
            "disabled": _("账号已停用，请联系学校管理员。"),
        }
        raise ReslibError(messages[user.status], code=f"account_{user.status}", status=403)
    if _outdated(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins, user.last_login_at = 0, now
    return user


def start_session(user: User) -> str:
    """Open a login session for ``user`` (already authenticated) and return the key for the cookie."""
    key = secrets.token_urlsafe(32)
    address = request.remote_addr if has_request_context() else None
    db.session.add(LoginSession(key_hash=_sha256(key), user_id=user.id, address=address))
    audit.record("login", actor=user, target=user)
    db.session.commit()
    user.current_session_key = key
    return key


# Built once: the statement and its cache key are reused by every request's user lookup.
_SESSION_USER = (
    select(User)
    .join(LoginSession, LoginSession.user_id == User.id)
    .where(LoginSession.key_hash == bindparam("key_hash"), LoginSession.ended_at.is_(None),
           User.id == bindparam("user_id"), User.status == "active")
    .options(joinedload(User.role_rows), joinedload(User.school))
)


def load_session_user(session_id: str) -> User | None:
    """Flask-Login's loader: the account behind a live login session, or None. One query on every request."""
    user_id, _sep, key = (session_id or "").partition(":")
    if not key or not user_id.isdigit():
        return None
    user = db.session.scalar(_SESSION_USER, {"key_hash": _sha256(key), "user_id": int(user_id)})
    if user is not None:
        user.current_session_key = key
    return user


def end_session(user: User) -> None:
    if user.current_session_key:
        row = db.session.scalar(select(LoginSession).where(LoginSession.key_hash == _sha256(user.current_session_key)))
        if row is not None and row.ended_at is None:
            row.ended_at = utcnow()
    audit.record("logout", actor=user, target=user)
    db.session.commit()


def _end_all_sessions(user: User) -> None:
    now = utcnow()
    for row in db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
    ):
        row.ended_at = now


# --- verification and lifecycle (by admins) ---------------------------------------------------

def _hold_in(user: User, statuses: tuple[str, ...], refusal: str) -> None:
    """Hold the account's row for a lifecycle step allowed from ``statuses``; if it is in none of them, or
    another admin's step changed it while this one was on its way, refuse with ``refusal`` (409)."""
    if user.status not in statuses or not hold_status(user):
        db.session.rollback()
        raise ReslibError(refusal, code="conflict", status=409)


def verify(actor: User, user: User) -> None:
    require(actor, "account.verify", user)
    _hold_in(user, ("pending", "rejected"), _("这个账号不在待审核状态"))
    mark_verified(user, actor)
    audit.record("account.verified", actor=actor, target=user)
    db.session.commit()
    hooks().account_changed(user=user, change="verified", actor=actor)


def reject(actor: User, user: User, reason: str) -> None:
    require(actor, "account.verify", user)
    reason = (reason or "").strip()
    if not reason:
        raise ReslibError(_("请填写不通过的原因，申请人会看到它"), field="reason")
    _hold_in(user, ("pending",), _("这个账号不在待审核状态"))
    user.status, user.status_reason = "rejected", reason[:255]
    audit.record("account.rejected", actor=actor, target=user, detail=reason)
    db.session.commit()
    hooks().account_changed(user=user, change="rejected", actor=actor)


def disable(actor: User, user: User, reason: str) -> None:
    require(actor, "account.manage", user)
    if user.id == actor.id:
        raise ReslibError(_("不能停用自己的账号"), code="conflict", status=409)
    reason = (reason or "").strip()
    if not reason:
        raise ReslibError(_("请填写停用原因"), field="reason")
    user.status, user.status_reason = "disabled", reason[:255]
    _end_all_sessions(user)
    audit.record("account.disabled", actor=actor, target=user, detail=reason)
    db.session.commit()
    hooks().account_changed(user=user, change="disabled", actor=actor)


def enable(actor: User, user: User) -> None:
    require(actor, "account.manage", user)
    _hold_in(user, ("disabled",), _("这个账号没有被停用"))
    user.status, user.status_reason = "active", None
    audit.record("account.enabled", actor=actor, target=user)
    db.session.commit()
    hooks().account_changed(user=user, change="enabled", actor=actor)


def unlock(actor: User, user: User) -> None:
    require(actor, "account.manage", user)
    user.locked_until, user.failed_logins = None, 0
    audit.record("account.unlocked", actor=actor, target=user)
    db.session.commit()


def transfer(actor: User, user: User, school_id) -> None:
    require(actor, "account.transfer", user)
    school = get_school(school_id)
    if school.id == user.school_id:
        raise ReslibError(_("账号已在这所学校"), field="school_id")
    _check_unique("", school.id, user.identifier, None, exclude_id=user.id)
    old = user.school.name if user.school else "-"
    user.school_id = school.id
    audit.record("account.transferred", actor=actor, target=user, school_id=school.id, detail=f"{old} → {school.name}")
    db.session.commit()
    hooks().account_changed(user=user, change="transferred", actor=actor)


def set_roles(actor: User, user: User, roles) -> None:
    require(actor, "account.roles", user)
    roles = set(roles)
    if not roles or roles - set(ROLES):
        raise ReslibError(_("请至少选择一个有效角色"), field="roles")
    if roles & set(SCHOOL_ROLES) and user.school_id is None:
        raise ReslibError(_("学生、教师和学校管理员必须属于一所学校"), field="roles")
    if user.id == actor.id and "district_admin" not in roles:
        raise ReslibError(_("不能取消自己的区管理员角色"), field="roles")
    with in_district_language():
        before = "、".join(user.role_labels)
        user.set_roles(roles)
        audit.record("account.roles_changed", actor=actor, target=user, detail=f"{before} → {'、'.join(user.role_labels)}")
    db.session.commit()
    hooks().account_changed(user=user, change="roles_changed", actor=actor)


def _temporary_password() -> str:
    alphabet = string.ascii_letters + string.digits
    body = "".join(secrets.choice(alphabet) for _i in range(10))
    return f"{body}-{secrets.randbelow(90) + 10}Rl"


def reset_password(actor: User, user: User) -> str:
    """Give ``user`` a temporary password they must change at next sign-in; returns it once."""
    require(actor, "account.manage", user)
    temporary = _temporary_password()
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    user.locked_until, user.failed_logins = None, 0
    _end_all_sessions(user)
    audit.record("password.reset", actor=actor, target=user)
    db.session.commit()
    hooks().account_changed(user=user, change="password_reset", actor=actor)
    return temporary


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current or ""):
        raise ReslibError(_("当前密码不正确"), field="current_password")
    check_password_policy(new, user.username)
    if verify_password(user.password_hash, new):
        raise ReslibError(_("新密码不能与当前密码相同"), field="password")
    user.password_hash = hash_password(new)
    user.must_change_password = False
    audit.record("password.changed", actor=user, target=user)
    db.session.commit()


# --- lists for admins ------------------------------------------------------------------------

def accounts_query(actor: User, *, school_id=None, status=None, role=None, q=None):
    """Accounts ``actor`` may administer, filtered; school admins are held to their own school."""
    stmt = select(User).order_by(User.created_at.desc(), User.id.desc())
    if not actor.has_role("district_admin"):
        school_id = actor.school_id
    if school_id:
        stmt = stmt.where(User.school_id == int(school_id))
    if status:
        stmt = stmt.where(User.status == status)
    if role:
        stmt = stmt.where(User.role_rows.any(UserRole.role == role))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(User.username.ilike(like) | User.real_name.like(like) | User.identifier.ilike(like))
    return stmt


def export_school_accounts(actor: User, school: School) -> bytes:
    """The school's accounts as an XLSX workbook. Personal data: only for its admins, and audited."""
    require(actor, "accounts.export", school)
    users = db.session.scalars(accounts_query(actor, school_id=school.id)).all()
    rows = [
        [u.real_name, u.username, _("、").join(u.role_labels), u.identifier or "", u.id_number_masked or "", u.status_label]
        for u in users
    ]
    header = [_("姓名"), _("用户名"), _("角色"), _("学号/工号"), _("身份证号（已脱敏）"), _("状态")]
    audit.record("personal_data.exported", actor=actor, target=f"school:{school.id}", school_id=school.id,
                 detail=_l("账号名单 Excel，%(n)s 人", n=len(rows)))
    db.session.commit()
    return xlsx_bytes(school.name, header, rows)


# --- API tokens ------------------------------------------------------------------------------

def create_token(user: User, name: str) -> str:
    """A new personal API token; the clear value is returned once and never stored."""
    name = (name or "").strip()[:64] or _("未命名令牌")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, name=name, prefix=token[:10], token_hash=_sha256(token)))
    audit.record("token.created", actor=user, target=user, detail=name)
    db.session.commit()
    return token


def revoke_token(user: User, token_id: int) -> None:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != user.id:
        raise ReslibError(_("令牌不存在"), code="not_found", status=404)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit.record("token.revoked", actor=user, target=user, detail=row.name)
        db.session.commit()


def user_for_token(token: str) -> User | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _sha256(token), ApiToken.revoked_at.is_(None)))
    if row is None or not row.user.is_active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=5):
        row.last_used_at = now  # coarse, so a busy script does not write on every call
        db.session.commit()
    return row.user


def tokens_of(user: User):
    return db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())).all()
