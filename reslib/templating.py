"""What every template can use: language choice, navigation from the menu_links hook, time display."""
from datetime import UTC
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app, g, has_request_context, session, url_for
from flask_babel import get_translations
from flask_login import current_user
from markupsafe import Markup

from reslib.permissions import can
from reslib.plugins import hooks
from reslib.views import this_url
from reslib.services.identity import pupil_name

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def chosen_language() -> str:
    """The language code this request is served in: the visitor's choice, else the district's default."""
    chosen = session.get("lang") if has_request_context() else None
    return chosen if chosen in current_app.config["LANGUAGES"] else current_app.config["BABEL_DEFAULT_LOCALE"]


def select_locale() -> Locale:
    return _parsed(chosen_language())


@cache
def _parsed(code: str) -> Locale:
    # Parsing a locale name scans Babel's whole locale list: once per name, not once per request.
    return Locale.parse(code)


def _translations():
    # Flask-Babel looks the catalogue up on every call; a page makes dozens, so keep it for the request.
    if "translations" not in g:
        g.translations = get_translations()
    return g.translations


def template_gettext(string: str) -> str:
    return _translations().ugettext(string)


def template_ngettext(singular: str, plural: str, n: int) -> str:
    return _translations().ungettext(singular, plural, n)


def nav_links() -> list[dict]:
    links = []
    for batch in hooks().menu_links(user=current_user):
        links.extend(batch or [])
    links.sort(key=lambda link: link.get("order", 100))
    return [{"label": link["label"], "url": url_for(link["endpoint"]), "endpoint": link["endpoint"]} for link in links]


def plugin_panels(hook_name: str, **kwargs) -> list[Markup]:
    """Fragments plugins return from a rendering hook, flattened, in plugin order."""
    hook = getattr(hooks(), hook_name)
    panels = []
    for result in hook(**kwargs):
        panels.extend(result if isinstance(result, list | tuple) else [result])
    return [Markup(panel) for panel in panels if panel]


def page_url(number: int) -> str:
    """This page's URL with its filters kept and another page number."""
    return this_url(page=number)


def shown_name(person) -> str:
    """``person``'s name as the viewer may see it (a pupil's whole name stays within their school)."""
    return person.real_name if can(current_user, "account.full_name", person) else pupil_name(person.real_name)


def localtime(value, fmt="%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).strftime(fmt)


def init_app(app) -> None:
    app.jinja_env.install_gettext_callables(template_gettext, template_ngettext, newstyle=True)
    app.jinja_env.globals.update(nav_links=nav_links, plugin_panels=plugin_panels, page_url=page_url)
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["shown_name"] = shown_name

    @app.context_processor
    def _site():
        return {"district_name": app.config["DISTRICT_NAME"], "current_locale": chosen_language()}
