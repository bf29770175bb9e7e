"""对接省级/国家平台: the national platform's sections and columns; an OAI-PMH provider over the district library;
recommendation rounds upward (quotas, proposals, selection against the standards, the forms, the platform's answers).
"""
from flask import render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from reslib import hookimpl
from reslib.permissions import can

from plugins.sync_provincial import models  # noqa: F401  (the table exists whenever the plugin is on)
from plugins.sync_provincial import packages, rounds
from plugins.sync_provincial.views import bp
from plugins.sync_provincial.oai_views import bp as oai_bp
from plugins.sync_provincial import harvest
from plugins.sync_provincial.harvest_views import bp as harvest_bp


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
        # A platform's API for delivering a round (its address is the round's): the bearer token it issued the
        # district, and the first pause before a retry (doubled each time; three tries in all).
        "PLATFORM_API_TOKEN": None,
        "PLATFORM_RETRY_SECONDS": 2,
        "OAI_REPOSITORY_ID": "reslib.local",
        "OAI_ADMIN_EMAIL": "admin@reslib.local",
        "OAI_PAGE_SIZE": 100,
        "OAI_TOKEN_LIFETIME": 3600,
        # Harvesting (harvest.py, safe_http.py). Hosts a source may be on; empty = any public host.
        "HARVEST_ALLOWED_HOSTS": [],
        # Hosts, addresses or networks (CIDR) allowed although not public, e.g. a school's server on the
        # district's network; every other loopback, private, link-local or reserved address is refused.
        "HARVEST_ALLOW_PRIVATE_HOSTS": [],
        # Seconds to connect, and to wait for each piece of an answer.
        "HARVEST_CONNECT_TIMEOUT": 10,
        "HARVEST_READ_TIMEOUT": 30,
        # One answer (a page of records) must arrive whole within this many seconds, and be at most this big.
        "HARVEST_TOTAL_SECONDS": 120,
        "HARVEST_MAX_BYTES": 50 * 1024**2,
        # A copied file's time (its size is capped by UPLOAD_MAX_BYTES, as a teacher's upload).
        "HARVEST_FILE_SECONDS": 3600,
    }


@hookimpl
def register_blueprints(app):
    app.register_blueprint(bp)
    app.register_blueprint(oai_bp)
    app.register_blueprint(harvest_bp)


@hookimpl
def register_jobs(queue):
    harvest.register_jobs(queue)


@hookimpl
def dashboard_panels(user):
    if not can(user, "district.manage"):
        return []
    failing = harvest.failing_sources()
    if not failing:
        return []
    names = "、".join(source.name for source in failing)
    return [Markup('<section class="card"><p class="error">{} <a href="{}">{}</a></p></section>').format(
        _("资源采集连续失败：%(names)s", names=names), url_for("sync_provincial_harvest.index"), _("查看采集记录"))]


@hookimpl
def resource_panels(resource, user):
    panels = []
    shown = recommendations_shown(resource, user)
    if shown:
        panels.append(Markup(render_template("sync_provincial/_recommendations_panel.html", items=shown,
                                             labels=rounds.STATUS_LABELS)))
    provenance = harvest.provenance_of(resource)
    if provenance is not None:
        panels.append(Markup("<p>{}</p>").format(_("采集自 %(source)s（标识 %(identifier)s，时间 %(datestamp)s）",
                                                   source=provenance.source.name, identifier=provenance.identifier,
                                                   datestamp=provenance.datestamp)))
    if packages.exportable(resource):
        url = url_for("sync_provincial.metadata_package", resource_id=resource.id)
        panels.append(Markup('<p><a href="{}">{}</a></p>').format(url, _("下载国家平台元数据包（JSON、XML 与封面）")))
    return panels


def recommendations_shown(resource, user) -> list:
    """A platform's acceptance is news for every reader; the steps before it are for the author and the admins."""
    insiders = user.is_authenticated and (user.id == resource.owner_id or rounds.may_propose_for(user, resource))
    return [item for item in rounds.of_resource(resource) if insiders or item.status in ("accepted", "online")]


@hookimpl
def menu_links(user):
    if not user.is_authenticated:
        return []
    links = [{"label": _l("国家平台栏目"), "endpoint": "sync_provincial.taxonomy_page", "order": 45}]
    if can(user, "district.manage") or user.has_role("school_admin"):
        links.append({"label": _l("资源推荐"), "endpoint": "sync_provincial.rounds_index", "order": 78, "group": "admin"})
    if can(user, "district.manage"):
        links.append({"label": _l("资源采集"), "endpoint": "sync_provincial_harvest.index", "order": 79, "group": "admin"})
    return links


@hookimpl
def audit_actions():
    return {"sync_provincial.quotas_set": _l("设置推荐名额"), "sync_provincial.round_saved": _l("保存推荐活动"),
            "sync_provincial.round_status": _l("开放或截止推荐活动"), "sync_provincial.proposed": _l("学校推荐资源"),
            "sync_provincial.withdrawn": _l("撤回推荐"),
            "sync_provincial.recommendation_status": _l("推荐状态变化"),
            "sync_provincial.harvest_source_saved": _l("保存采集源"),
            "sync_provincial.harvest_requested": _l("立即采集")}
