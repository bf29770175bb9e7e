"""Manual awards, and what a person reads of their points: their standing in a term against their baseline
(基本分值) and their history."""
import uuid
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from plugins.points import earning, periods
from plugins.points.models import PersonTerm, PointEntry
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import User
from reslib.models.base import utcnow
from reslib.permissions import can
from reslib.services import accounts, audit

MAX_AMOUNT = 1000  # per manual award: larger numbers are almost always typing mistakes


@dataclass(frozen=True)
class Standing:
    term: periods.Term
    total: int
    baseline: int | None  # None: the person's roles have no baseline
    reached: bool

    @property
    def percent(self) -> int:
        """How far toward the baseline, 0–100, for a progress bar."""
        if not self.baseline:
            return 100 if self.baseline == 0 else 0
        return max(0, min(100, self.total * 100 // self.baseline))

def check_amount(amount) -> int:
    """An int, or the text of one as typed in the form; non-zero and within ±MAX_AMOUNT."""
    if isinstance(amount, str):
        try:
            amount = int(amount.strip())
        except ValueError:
            raise ReslibError(_("分值须为整数，例如 5 或 -3"), field="amount") from None
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise ReslibError(_("分值须为整数，例如 5 或 -3"), field="amount")
    if amount == 0:
        raise ReslibError(_("分值不能为 0"), field="amount")
    if abs(amount) > MAX_AMOUNT:
        raise ReslibError(_("每次最多加减 %(n)s 分", n=MAX_AMOUNT), field="amount")
    return amount


def find_account(username: str) -> User:
    user = accounts.user_by_username(username)
    if user is None:
        raise ReslibError(_("没有用户名为“%(name)s”的账号", name=(username or "").strip()), field="username",
                          code="not_found")
    return user


def award(actor, user: User, amount, reason: str) -> PointEntry:
    """Record a manual award (or, with a negative amount, a deduction or correction) and audit it."""
    if not can(actor, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以手动记分"), code="forbidden", status=403)
    if user.id == getattr(actor, "id", None):
        raise ReslibError(_("不能给自己记分"), field="username", code="conflict")
    amount = check_amount(amount)
    reason = (reason or "").strip()
    if not reason:
        raise ReslibError(_("请填写记分原因"), field="reason")
    if len(reason) > 255:
        raise ReslibError(_("原因不能超过 255 个字"), field="reason")
    now = utcnow()
    row = earning.new_entry(user.id, amount, "manual", f"manual:{uuid.uuid4().hex}", None, None, user.school_id,
                            now, reason)
    earning.write_entry({**row, "awarded_by_id": actor.id})
    audit.record("points.awarded", actor=actor, target=user, detail=f"{amount:+d} {reason}")
    db.session.commit()
    return db.session.scalar(select(PointEntry).where(PointEntry.source_key == row["source_key"]))


def balance(user: User, term: periods.Term) -> int:
    return db.session.scalar(select(PersonTerm.points).where(PersonTerm.user_id == user.id,
                                                             PersonTerm.term_id == term.id)) or 0


def recent_awards(limit: int = 20) -> list[PointEntry]:
    stmt = select(PointEntry).where(PointEntry.kind == "manual").order_by(PointEntry.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


def standing(user: User, term: periods.Term | None = None) -> Standing:
    term = term or periods.current_term()
    total = balance(user, term)
    baseline = periods.baseline_of(user, term)
    return Standing(term=term, total=total, baseline=baseline, reached=baseline is not None and total >= baseline)


def standings(user: User) -> list[Standing]:
    """The current term's and every past term's in which the person has points, newest first."""
    current = periods.current_term()
    earned = set(db.session.scalars(select(PersonTerm.term_id).where(PersonTerm.user_id == user.id)))
    return [standing(user, term) for term in reversed(periods.terms())
            if term.starts_on <= current.starts_on and (term.id in earned or term.id == current.id)]


def history(user: User, page: int = 1, per_page: int = 50):
    """The person's entries, newest first, a page at a time (a Flask-SQLAlchemy pagination)."""
    stmt = (select(PointEntry).where(PointEntry.user_id == user.id)
            .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc()))
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False, count=page > 1 or per_page > 5)
