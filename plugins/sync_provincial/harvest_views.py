"""The district admin's harvest pages: the sources, adding and changing one, 立即采集, and each source's runs."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import School
from reslib.permissions import can
from reslib.views import button_step, show_error
from reslib.views.forms import ActionForm, choices

from plugins.sync_provincial import harvest
from plugins.sync_provincial.forms import SourceForm
from plugins.sync_provincial.models import HarvestRun, HarvestSource

bp = Blueprint("sync_provincial_harvest", __name__, url_prefix="/provincial/harvest", template_folder="templates")

RUNS_SHOWN = 50


@bp.before_request
@login_required
def _district_admins_only():
    if not can(current_user, "district.manage"):
        abort(403)


def _source(source_id: int) -> HarvestSource:
    source = db.session.get(HarvestSource, source_id)
    if source is None:
        abort(404)
    return source


def _last_runs(sources) -> dict[int, HarvestRun]:
    """Each source's newest run, in one query."""
    newest = (select(HarvestRun.source_id, db.func.max(HarvestRun.id))
              .where(HarvestRun.source_id.in_([source.id for source in sources])).group_by(HarvestRun.source_id))
    ids = [run_id for _source_id, run_id in db.session.execute(newest)]
    return {run.source_id: run for run in db.session.scalars(select(HarvestRun).where(HarvestRun.id.in_(ids)))}


@bp.route("/")
def index():
    sources = list(db.session.scalars(select(HarvestSource).order_by(HarvestSource.name)))
    return render_template("sync_provincial/harvest_index.html", sources=sources, last_runs=_last_runs(sources),
                           action_form=ActionForm())


def _edit(source: HarvestSource | None):
    form = SourceForm(obj=source) if source else SourceForm(interval_hours="24", enabled=True)
    form.school_id.choices = choices([("district", _("区级资源库"))] + [
        (str(school.id), _("%(school)s校本库", school=school.name))
        for school in db.session.scalars(select(School).order_by(School.code))])
    if source and not form.is_submitted():
        form.school_id.data = str(source.school_id) if source.school_id else "district"
        form.interval_hours.data = str(source.interval_hours)
    if form.validate_on_submit():
        try:
            saved = harvest.save_source(current_user, source, {name: getattr(form, name).data
                                                               for name in harvest.SOURCE_FIELDS})
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已保存采集源“%(name)s”。", name=saved.name), "success")
            return redirect(url_for(".index"))
    return render_template("sync_provincial/harvest_source.html", form=form, source=source)


@bp.route("/new", methods=["GET", "POST"])
def new_source():
    return _edit(None)


@bp.route("/<int:source_id>/edit", methods=["GET", "POST"])
def edit_source(source_id):
    return _edit(_source(source_id))


@bp.route("/<int:source_id>/run", methods=["POST"])
def run_now(source_id):
    source = _source(source_id)
    return button_step(lambda: harvest.request_run(current_user, source),
                       _("已安排立即采集“%(name)s”，稍后刷新本页查看结果。", name=source.name),
                       url_for(".runs", source_id=source.id))


@bp.route("/<int:source_id>/runs")
def runs(source_id):
    source = _source(source_id)
    shown = list(db.session.scalars(select(HarvestRun).where(HarvestRun.source_id == source.id)
                                    .order_by(HarvestRun.id.desc()).limit(RUNS_SHOWN)))
    return render_template("sync_provincial/harvest_runs.html", source=source, runs=shown, action_form=ActionForm())
