"""对接省级/国家平台: the national platform's sections and columns, and each unit's recommendation quotas.

Harvesting catalogues and the recommendation form come later; this part is what the district uses today.
"""
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from reslib import hookimpl
from reslib.permissions import can

from plugins.sync_provincial import models  # noqa: F401  (the table exists whenever the plugin is on)
from plugins.sync_provincial import packages
from plugins.sync_provincial.views import bp
from plugins.sync_provincial.oai_views import bp as oai_bp


@hookimpl
def config_defaults():
    return {
        # Home page of the province's smart-education platform; None = not linked. Shown on the columns
        # page now; harvesting and upward recommendation will use both addresses later.
        "PROVINCIAL_PLATFORM_URL": None,
        # Home page of the national smart-education platform, e.g. "https://basic.smartedu.cn/"; None = not linked.
        "NATIONAL_PLATFORM_URL": None,
        # The OAI-PMH provider at /oai: the repository's identifier (a domain name the district controls, in
        # every record's oai:<id>:<number>), the address harvesters' operators may write to, records per answer,
        # and how long a resumption token stays good (seconds).
        "OAI_REPOSITORY_ID": "reslib.local",
        "OAI_ADMIN_EMAIL": "admin@reslib.local",
        "OAI_PAGE_SIZE": 100,
        "OAI_TOKEN_LIFETIME": 3600,
    }


@hookimpl
def register_blueprints(app):
    app.register_blueprint(bp)
    app.register_blueprint(oai_bp)


@hookimpl
def resource_panels(resource, user):
    if not packages.exportable(resource):
        return []
    url = url_for("sync_provincial.metadata_package", resource_id=resource.id)
    return [Markup('<p><a href="{}">{}</a></p>').format(url, _("下载国家平台元数据包（JSON、XML 与封面）"))]


@hookimpl
def menu_links(user):
    if not user.is_authenticated:
        return []
    links = [{"label": _l("国家平台栏目"), "endpoint": "sync_provincial.taxonomy_page", "order": 45}]
    if can(user, "district.manage"):
        links.append({"label": _l("推荐名额"), "endpoint": "sync_provincial.quotas", "order": 78})
    return links


@hookimpl
def audit_actions():
    return {"sync_provincial.quotas_set": _l("设置推荐名额")}
