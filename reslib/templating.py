"""What every template can use: language choice, navigation from the menu_links hook, time display."""
from datetime import UTC, date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from babel import Locale
from flask import current_app, has_request_context, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from reslib import form_rendering
from reslib.messages import translations
from reslib.permissions import can
from reslib.plugins import hooks
from reslib.views import this_url
from reslib.services.identity import pupil_name
from reslib.services.storage import file_size
from reslib.services.vocabularies import term_label

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")


def local_day(moment: datetime) -> date:
    """The district's calendar day of a naive UTC time (a UTC date would turn over eight hours late)."""
    return moment.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date()


def local_today() -> date:
    return datetime.now(LOCAL_ZONE).date()


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


def template_gettext(string: str, **variables) -> Markup:
    # Templates call this as ``_()``. Jinja's new-style wrapper does the same (the catalogue string is markup,
    # always %-formatted with its variables escaped) but resolves ``gettext`` and passes through the template
    # context twice on each call, which a page makes dozens of. Every template is HTML.
    return Markup(translations().ugettext(string)) % variables


def nav_links() -> list[dict]:
    """The bar's links in order, then, when there are any, the administration pages as one group
    (``{"label": 管理, "children": [...]}``), so an admin's bar holds what they use every day."""
    links = []
    # The account itself, not the proxy: every link a hook offers reads its roles, and each read through the
    # proxy looks the account up again.
    for batch in hooks().menu_links(user=current_user._get_current_object()):
        links.extend(batch or [])
    links.sort(key=lambda link: link.get("order", 100))
    shown = [{"label": link["label"], "url": url_for(link["endpoint"]), "endpoint": link["endpoint"],
              "group": link.get("group")} for link in links]
    bar = [link for link in shown if link["group"] != "admin"]
    admin = [link for link in shown if link["group"] == "admin"]
    return bar + ([{"label": _("管理"), "children": admin}] if admin else [])


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
    form_rendering.install()
    app.jinja_env.globals.update(
        _=template_gettext, gettext=template_gettext,
        nav_links=nav_links, plugin_panels=plugin_panels, page_url=page_url,
    )
    app.jinja_env.filters["localtime"] = localtime
    app.jinja_env.filters["file_size"] = file_size
    app.jinja_env.filters["shown_name"] = shown_name
    app.jinja_env.filters["term"] = term_label

    @app.context_processor
    def _site():
        return {"district_name": app.config["DISTRICT_NAME"], "current_locale": chosen_language()}
