"""Thin blueprints: parse the request, call a service with the acting user, render."""
from urllib.parse import urlsplit

from flask import flash, request, session, url_for
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from reslib.errors import ReslibError
from reslib.models.base import MAX_ID


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a number larger than any id the database holds is a 404 like any missing
    row, instead of a query the database refuses."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def fresh_session() -> None:
    """Empty the session but for the language, which is the browser's choice, not the account's."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def raise_if_refused(exc) -> None:
    """A refusal or a missing object is not a mistake in the form: let the app's error page answer it."""
    if exc.status in (401, 403, 404):
        raise exc


def json_object() -> dict:
    """The request's JSON body, which must be an object: anything else gets a 400, not a crash on the first lookup."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ReslibError(_("请求内容应为 JSON 对象"), code="bad_request")
    return body


def show_error(form, exc) -> None:
    """Put a service's error next to its field when the form has it, else at the top of the page."""
    raise_if_refused(exc)
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(exc.message, "error")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after login; anything else goes to ``default``."""
    if not target:
        return default
    target = target.replace("\\", "/").strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


MAX_PAGE = 100_000  # far past any list's end; a larger number would overflow the database's integers


def page_number() -> int:
    return min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)


def this_url(**changes) -> str:
    """This page's URL with its query kept and ``changes`` made to it (None removes an argument). The
    path's own arguments win over a query argument of the same name (``/library/schools/1?school_id=2``)."""
    args = {**request.args.to_dict(), **changes}
    args = {name: value for name, value in args.items() if value is not None}
    return url_for(request.endpoint, **{**args, **(request.view_args or {})})
