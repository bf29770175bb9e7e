"""积分制评价: a points ledger per person, measured each school year against a baseline for their role."""
from flask import render_template
from flask_babel import lazy_gettext as _l

from plugins.points import service
from reslib import hookimpl
from reslib.permissions import can

PANEL_ENTRIES = 5


@hookimpl
def config_defaults():
    return {
        "POINTS_BASELINES": {"teacher": 100, "student": 60},  # points each role should reach per period
        "POINTS_PERIOD": "year",  # the school year, 1 September – 31 August (the only period so far)
    }


@hookimpl
def register_blueprints(app):
    from plugins.points.views import bp

    app.register_blueprint(bp)


@hookimpl
def menu_links(user):
    if can(user, "district.manage"):
        return [{"label": _l("积分管理"), "endpoint": "points.award", "order": 75}]
    return []


def _panel(user):
    return render_template("points/_panel.html", standing=service.standing(user),
                           entries=service.entries(user, PANEL_ENTRIES))


@hookimpl
def profile_panels(user, viewer):
    # The same people who may see the profile itself: the person, district admins, their school's admins.
    if not can(viewer, "account.view", user):
        return []
    return [_panel(user)]


@hookimpl
def dashboard_panels(user):
    if service.baseline_for(user) is None and not service.entries(user, 1):
        return []  # district staff are not measured; show nothing unless someone gave them points anyway
    return [_panel(user)]


@hookimpl
def audit_actions():
    return {"points.awarded": _l("手动记分")}
