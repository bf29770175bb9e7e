"""Pages: the national platform's sections and columns for everyone, the quota grid for the district admin."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from reslib.errors import ReslibError
from reslib.permissions import can
from reslib.views import raise_if_refused

from plugins.sync_provincial import packages, service
from reslib.permissions import require
from reslib.services import library
from reslib.views.library import send_export
from reslib import national as taxonomy

bp = Blueprint("sync_provincial", __name__, url_prefix="/provincial", template_folder="templates",
               static_folder="static")


class QuotaForm(FlaskForm):
    """Only the CSRF token: the grid's cells depend on the units in the database, read as q-<unit_id>-<section index>."""


def cell_name(unit_id: int, index: int) -> str:
    return f"q-{unit_id}-{index}"


@bp.before_request
@login_required
def _signed_in():
    """Every page here is for signed-in accounts."""


@bp.route("/taxonomy")
def taxonomy_page():
    return render_template(
        "sync_provincial/taxonomy.html", sections=taxonomy.SECTIONS,
        national_url=current_app.config.get("NATIONAL_PLATFORM_URL"),
        provincial_url=current_app.config.get("PROVINCIAL_PLATFORM_URL"),
        may_manage=can(current_user, "district.manage"),
    )


@bp.route("/quotas", methods=["GET", "POST"])
def quotas():
    if not can(current_user, "district.manage"):
        abort(403)
    year = request.args.get("year", type=int) or service.current_year()
    table = service.quota_table(year)
    form = QuotaForm()
    typed, bad_cells = {}, set()
    if form.validate_on_submit():
        values = {}
        for row in table.rows:
            for index, section in enumerate(table.sections):
                name = cell_name(row.unit.id, index)
                if name in request.form:
                    values[(row.unit.id, section)] = request.form[name]
        try:
            changed = service.set_quotas(current_user, year, values)
        except ReslibError as exc:
            raise_if_refused(exc)
            # Nothing was saved: show what was typed, with the refused cells marked.
            typed = {cell_name(unit_id, table.sections.index(section)): value
                     for (unit_id, section), value in values.items()}
            cells = getattr(exc, "cells", {})
            bad_cells = {cell_name(unit_id, table.sections.index(section)) for unit_id, section in cells}
            flash(_("没有保存，请改正标出的格子：%(errors)s", errors=exc.message) if cells else exc.message, "error")
        else:
            flash(_("已保存 %(year)s 年的推荐名额，修改了 %(n)s 处。", year=year, n=changed) if changed
                  else _("名额没有变化。"), "success")
            return redirect(url_for(".quotas", year=year))
    return render_template("sync_provincial/quotas.html", table=table, form=form, typed=typed,
                           bad_cells=bad_cells, cell_name=cell_name,
                           min_year=service.MIN_YEAR, max_year=service.MAX_YEAR)


@bp.route("/resources/<int:resource_id>/metadata.zip")
def metadata_package(resource_id):
    """The resource's national metadata as JSON and XML, with its cover, for whoever may see it."""
    resource = library.get_resource(resource_id)
    require(current_user, "resource.view", resource)
    return send_export(packages.package(resource), "application/zip", f"{resource.title}-元数据.zip")
