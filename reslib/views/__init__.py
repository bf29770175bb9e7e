"""Thin blueprints: parse the request, call a service with the acting user, render."""
from urllib.parse import urlsplit

from flask import flash, request


def raise_if_refused(exc) -> None:
    """A refusal or a missing object is not a mistake in the form: let the app's error page answer it."""
    if exc.status in (401, 403, 404):
        raise exc


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


def page_number() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)
