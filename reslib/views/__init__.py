"""Thin blueprints: parse the request, call a service with the acting user, render."""
import re

from flask import abort, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.routing import IntegerConverter

from reslib.errors import ReslibError
from reslib.models.base import MAX_ID


def _numbers_up_to(limit: int) -> str:
    """A regular expression for the decimal numbers from 0 to ``limit``."""
    digits = str(limit)
    shorter = [rf"\d{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    below = [rf"{digits[:i]}[0-{int(d) - 1}]\d{{{len(digits) - i - 1}}}" for i, d in enumerate(digits) if d != "0"]
    return "(?:" + "|".join([*shorter, *below, digits]) + ")"


class IdConverter(IntegerConverter):
    """``<int:…>`` in every route: a number larger than any id the database holds is a 404 like any missing
    row, instead of a query the database refuses. Its pattern stops at MAX_ID: werkzeug picks a route by pattern
    before its converter reads the value, so a value refused only then was answered 405 for a method the path has
    (with an Allow header naming the path's other methods)."""

    regex = _numbers_up_to(MAX_ID)


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
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes ("[[[[…"): silent covers only ValueError
        body = None
    if not isinstance(body, dict):
        raise ReslibError(_("请求内容应为 JSON 对象"), code="bad_request")
    return body


def button_step(action, success: str, back: str):
    """A button's POST: check its CSRF token, run ``action`` (a service call), and go ``back`` with ``success``
    or the service's refusal flashed at the top of the page (a 403 or 404 answers as the app's error page)."""
    from reslib.views.forms import ActionForm  # the forms module imports this one

    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action()
    except ReslibError as exc:
        raise_if_refused(exc)
        flash(exc.message, "error")
    else:
        flash(success, "success")
    return redirect(back)


def show_error(form, exc) -> None:
    """Put a service's error next to its field when the form has it, else at the top of the page."""
    raise_if_refused(exc)
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [exc.message]
    else:
        flash(exc.message, "error")


# Control characters: werkzeug refuses CR and LF in a header, and browsers drop tabs and line breaks from a URL
# ("/\t/evil.example" is read as "//evil.example"); a lone surrogate cannot be encoded into the header at all.
_NOT_IN_NEXT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths are followed after login; anything else goes to ``default``."""
    if not target or _NOT_IN_NEXT.search(target):
        return default
    target = target.replace("\\", "/").strip()  # browsers read "/\evil.example" as "//evil.example"
    # A path ("/…" but not "//…", which is another host) has neither a scheme nor a host.
    if not target.startswith("/") or target.startswith("//"):
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
