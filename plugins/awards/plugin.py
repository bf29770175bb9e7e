"""评比与证书: district competitions set up by the district admin, with the seeded prize-allocation rule.

Entries (resources) and certificates arrive in a later release; today a competition is announced,
moves through its stages, and anyone can see how many prizes a given number of entries allows.
"""
from flask import render_template
from flask_babel import lazy_gettext as _l

from plugins.awards import service
from plugins.awards.views import bp
from reslib import hookimpl


@hookimpl
def config_defaults():
    # The seeds' rule: 1st:2nd:3rd = 3:3:4, and at most 80% of entries win anything.
    return {"AWARDS_PRIZE_RATIO": "3:3:4", "AWARDS_MAX_RATE": 80}


@hookimpl
def register_blueprints(app):
    app.register_blueprint(bp)


@hookimpl
def menu_links(user):
    if not user.is_authenticated:
        return []
    return [{"label": _l("区级评比"), "endpoint": "awards.index", "order": 40}]


@hookimpl
def dashboard_panels(user):
    competitions = service.open_competitions() if user.is_authenticated else []
    if not competitions:
        return []
    return [render_template("awards/_panel.html", competitions=competitions)]


@hookimpl
def audit_actions():
    return {"awards.competition_created": _l("新建评比"), "awards.competition_status": _l("变更评比状态")}
