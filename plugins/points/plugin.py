"""积分制评价: resources have a point value; people earn points by studying, viewing, downloading and rating
resources, by contributing resources that enter a library and by winning prizes; each term they are measured
against their role's baseline, and schools are evaluated and ranked by the district.

The plugin only listens: to usage (``usage_recorded``), to resources' changes (``resource_changed``) and to
prizes (``award_granted``, ``award_revoked``). Switched off, nothing is credited; switched on again,
``reslib points recompute`` credits what happened meanwhile, once.
"""
import click
from flask import render_template
from flask_babel import lazy_gettext as _l

from plugins.points import earning, periods, prizes, recompute, service
from plugins.points.models import ResourceValue
from reslib import hookimpl
from reslib.extensions import db
from reslib.permissions import can

PANEL_ENTRIES = 5


@hookimpl
def config_defaults():
    return {
        # Points each role should reach in a term, unless the district sets a term's own (积分 → 学期与基本分值).
        "POINTS_BASELINES": {"teacher": 100, "student": 60},
    }


@hookimpl
def register_blueprints(app):
    from plugins.points import admin_views, api, report_views  # noqa: F401  (their routes join the blueprints)
    from plugins.points.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    app.cli.add_command(points_command)


@hookimpl
def menu_links(user):
    if not getattr(user, "is_authenticated", False):
        return []
    links = [{"label": _l("我的积分"), "endpoint": "points.mine", "order": 74}]
    if can(user, "district.manage"):
        links.append({"label": _l("积分管理"), "endpoint": "points.award", "order": 75, "group": "admin"})
        links.append({"label": _l("积分排名"), "endpoint": "points.district", "order": 77, "group": "admin"})
    elif user.has_role("school_admin") and user.school is not None and can(user, "accounts.list", user.school):
        links.append({"label": _l("学校积分评价"), "endpoint": "points.school", "order": 76, "group": "admin"})
    return links


def _panel(user):
    return render_template("points/_panel.html", standing=service.standing(user),
                           entries=service.history(user, per_page=PANEL_ENTRIES).items)


@hookimpl
def profile_panels(user, viewer):
    # The same people who may see the profile itself: the person, district admins, their school's admins.
    if not can(viewer, "account.view", user):
        return []
    return [_panel(user)]


@hookimpl
def dashboard_panels(user):
    if periods.role_of(user) is None and not service.history(user, per_page=1).items:
        return []  # district staff are not measured; show nothing unless someone gave them points anyway
    return [_panel(user)]


@hookimpl
def resource_panels(resource, user):
    row = db.session.get(ResourceValue, resource.id)
    if row is None:
        return []
    return [render_template("points/_value.html", value=row.value, how=row.explanation)]


@hookimpl
def usage_recorded(event):
    earning.credit_usage(event)


@hookimpl
def resource_changed(resource, change, actor):
    if change == "deleted":  # a draft deleted: it was worth nothing to anyone
        db.session.query(ResourceValue).filter_by(resource_id=resource.id).delete()
        db.session.commit()
        return
    earning.settle_contribution(resource)


@hookimpl
def account_changed(user, change, actor):
    if change == "enabled":  # what entered a library while the account was disabled is theirs from now on
        for resource in earning.owned_in_library(user):
            earning.settle_contribution(resource)


@hookimpl
def award_granted(award):
    prizes.credit(award)


@hookimpl
def award_revoked(award):
    prizes.credit(award)


@hookimpl
def audit_actions():
    return {"points.awarded": _l("手动记分"), "points.rules": _l("修改积分规则"), "points.terms": _l("设置学期与基本分值"),
            "points.exported": _l("导出积分报表")}


@click.group("points")
def points_command():
    """Points: rebuild or check the ledger's totals."""


@points_command.command("recompute")
@click.option("--check", is_flag=True, help="Change nothing; exit 1 and print the differences if any.")
def recompute_command(check):
    """Credit what is missing from the ledger and rebuild every total from it and the usage events."""
    result = recompute.recompute(check=check)
    for kind, n in sorted(result.added.items()):
        click.echo(f"{'missing' if check else 'credited'}: {n} {kind}")
    for table, key, detail in result.differences[:200]:
        click.echo(f"differs: {table} {key} {detail}")
    if check and result.differences:
        click.echo(f"{len(result.differences)} differences")
        raise SystemExit(1)
    click.echo("points: totals agree with the ledger" if check else "points: recomputed")
