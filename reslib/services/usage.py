"""Usage events (view, preview progress, download, rate) and ratings; the counts on pages come from them."""
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Rating, Resource, UsageEvent
from reslib.models.accounts import shown_by_name
from reslib.models.base import utcnow
from reslib.models.library import USAGE_KINDS
from reslib.permissions import require
from reslib.plugins import hooks
from reslib.services import library

# Per cent of a video or audio actually played (the player sums its played ranges, so a seek to the end is not a
# play): every tenth, so that a plugin's threshold (points' study threshold, say) is met within ten per cent.
PREVIEW_MILESTONES = tuple(range(10, 101, 10))
LEARNING_KINDS = ("view", "preview", "download")  # what makes someone a learner of a resource
COMMENT_MAX = 500


def record(user, resource: Resource, kind: str, progress: int | None = None) -> UsageEvent | None:
    """Count one use of a library resource; None when it repeats one inside the dedup window
    (or, for a preview, when no milestone was reached) or the resource is not in a library."""
    require(user, "resource.view", resource)
    event = _new_event(user, resource, kind, progress)
    if event is None:
        return None
    db.session.commit()
    hooks().usage_recorded(event=event)
    return event


def _new_event(user, resource: Resource, kind: str, progress: int | None, *,
               always: bool = False) -> UsageEvent | None:
    """Add the event to the session unless it is a repeat (or, ``always``, even then); the caller commits."""
    if kind not in USAGE_KINDS:
        raise ValueError(f"unknown usage kind {kind!r}")
    if not library.in_library(resource):  # drafts and reviews are not use
        return None
    milestone = None
    if kind == "preview":
        milestone = max((m for m in PREVIEW_MILESTONES if m <= (progress or 0)), default=None)
        if milestone is None:
            return None
    now = utcnow()
    since = now - timedelta(minutes=current_app.config["USAGE_DEDUP_MINUTES"])
    same_progress = UsageEvent.progress.is_(None) if milestone is None else UsageEvent.progress == milestone
    repeat = select(UsageEvent.id).where(
        UsageEvent.user_id == user.id, UsageEvent.lineage_id == resource.lineage_id, UsageEvent.kind == kind,
        UsageEvent.at >= since, same_progress,
    ).limit(1)
    if not always and db.session.scalar(repeat) is not None:
        return None
    event = UsageEvent(resource_id=resource.id, lineage_id=resource.lineage_id, user_id=user.id,
                       school_id=user.school_id, kind=kind, progress=milestone, at=now)
    db.session.add(event)
    return event


def counts(resource: Resource) -> dict[str, int]:
    """Views, downloads and distinct learners over every version of the resource."""
    row = db.session.execute(select(
        func.count().filter(UsageEvent.kind == "view"),
        func.count().filter(UsageEvent.kind == "download"),
        func.count(distinct(UsageEvent.user_id)).filter(UsageEvent.kind.in_(LEARNING_KINDS)),
    ).where(UsageEvent.lineage_id == resource.lineage_id)).one()
    return {"views": row[0], "downloads": row[1], "learners": row[2]}


# --- ratings --------------------------------------------------------------------------------

def rate(user, resource: Resource, stars, comment: str = "") -> Rating:
    """Give or change one's rating (1–5 stars and a comment) of a library resource."""
    require(user, "resource.rate", resource)
    stars = _stars(stars)
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise ReslibError(_("评论不能超过 %(n)s 个字", n=COMMENT_MAX), field="comment")
    try:
        rating, event = _save_rating(user, resource, stars, comment)
    except IntegrityError:
        # Another request of the same person (a double click, a second tab) added their rating first:
        # this one changes it instead.
        db.session.rollback()
        rating, event = _save_rating(user, resource, stars, comment)
    if event is not None:
        hooks().usage_recorded(event=event)
    return rating


def _save_rating(user, resource, stars: int, comment: str):
    rating = own_rating(user, resource)
    # A comment written or rewritten is a new act of rating, however soon after the last: plugins hear of it
    # (points credits a rated comment). A repeat of the same rating inside the window is not.
    new_comment = bool(comment) and (rating is None or rating.comment != comment)
    if rating is None:
        rating = Rating(lineage_id=resource.lineage_id, user_id=user.id, stars=stars, comment=comment)
        db.session.add(rating)
    else:
        rating.stars, rating.comment = stars, comment
    event = _new_event(user, resource, "rate", None, always=new_comment)
    db.session.commit()
    return rating, event


def _stars(raw) -> int:
    text = str(raw).strip() if raw is not None and not isinstance(raw, bool) else ""
    if not text.isdigit() or not 1 <= int(text) <= 5:
        raise ReslibError(_("请选择 1 到 5 颗星"), field="stars")
    return int(text)


def own_rating(user, resource: Resource) -> Rating | None:
    return db.session.scalar(select(Rating).where(Rating.lineage_id == resource.lineage_id, Rating.user_id == user.id))


def rating_summary(resource: Resource) -> tuple[float | None, int, dict[int, int]]:
    """(average stars or None, number of ratings, {stars: how many} for 1..5)."""
    distribution = dict.fromkeys(range(1, 6), 0)
    rows = db.session.execute(select(Rating.stars, func.count()).where(Rating.lineage_id == resource.lineage_id)
                              .group_by(Rating.stars))
    for stars, n in rows:
        distribution[stars] = n
    total = sum(distribution.values())
    average = round(sum(s * n for s, n in distribution.items()) / total, 1) if total else None
    return average, total, distribution


def comments(resource: Resource, limit: int = 50) -> list[Rating]:
    """The latest ratings that say something, with their authors (and their roles, which decide how
    each author is named to the reader)."""
    return list(db.session.scalars(
        select(Rating).options(shown_by_name(Rating.user, with_roles=True))
        .where(Rating.lineage_id == resource.lineage_id, Rating.comment != "")
        .order_by(Rating.updated_at.desc()).limit(limit)))
