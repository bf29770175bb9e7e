"""Pages: the national platform's sections and columns for everyone; recommendation rounds (quotas, proposals,
selection, the forms and the platform's answers) for the district admin and the school admins."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Resource
from reslib.permissions import can
from reslib.views import button_step, raise_if_refused
from reslib.views.forms import ActionForm

from plugins.sync_provincial import connector, exports, packages, rounds, service
from plugins.sync_provincial.forms import AnswerForm, ProposalForm, RoundForm
from reslib.permissions import require
from reslib.services import library
from reslib.services.tables import XLSX_MIMETYPE
from reslib.views.library import send_export
from reslib import national as taxonomy

# The platform's answers the district admin records, in the order they come.
ANSWERS = ("submitted", "accepted", "rejected", "online")

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


@bp.route("/rounds/<int:round_id>/quotas", methods=["GET", "POST"])
def quotas(round_id):
    if not can(current_user, "district.manage"):
        abort(403)
    round_ = rounds.get_round(round_id)
    table = service.quota_table(round_)
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
            changed = service.set_quotas(current_user, round_, values)
        except ReslibError as exc:
            raise_if_refused(exc)
            # Nothing was saved: show what was typed, with the refused cells marked.
            typed = {cell_name(unit_id, table.sections.index(section)): value
                     for (unit_id, section), value in values.items()}
            cells = getattr(exc, "cells", {})
            bad_cells = {cell_name(unit_id, table.sections.index(section)) for unit_id, section in cells}
            flash(_("没有保存，请改正标出的格子：%(errors)s", errors=exc.message) if cells else exc.message, "error")
        else:
            flash(_("已保存推荐名额，修改了 %(n)s 处。", n=changed) if changed else _("名额没有变化。"), "success")
            return redirect(url_for(".quotas", round_id=round_.id))
    return render_template("sync_provincial/quotas.html", table=table, form=form, typed=typed,
                           bad_cells=bad_cells, cell_name=cell_name)


# --- rounds ------------------------------------------------------------------------------------------

def _may_take_part() -> bool:
    return can(current_user, "district.manage") or current_user.has_role("school_admin")


@bp.route("/rounds")
def rounds_index():
    if not _may_take_part():
        abort(403)
    return render_template("sync_provincial/rounds.html", rounds=rounds.all_rounds(),
                           may_manage=can(current_user, "district.manage"), accepting=rounds.accepting_proposals)


def _round_form(round_=None) -> RoundForm:
    if request.method == "POST":
        form = RoundForm()
    elif round_ is None:
        year = service.current_year()
        form = RoundForm(year=str(year), platform=_("国家中小学智慧教育平台"), min_per_section="10",
                         sections=list(taxonomy.sections()),
                         title=_("%(year)s 年国家中小学智慧教育平台专题资源推荐", year=year))
    else:
        contact = rounds.contact_of(round_)
        form = RoundForm(title=round_.title, platform=round_.platform, year=str(round_.year),
                         sections=round_.section_list(), min_per_section=str(round_.min_per_section),
                         deadline=round_.deadline.isoformat(), submit_url=round_.submit_url or "")
        for key, value in contact.items():
            name = RoundForm.contact_name(*key.split(".", 1))
            if name in form:
                form[name].data = value
    form.sections.choices = [(name, name) for name in taxonomy.sections()]
    return form


def _save_round(form: RoundForm, round_=None):
    try:
        saved = rounds.save_round(current_user, round_, {
            "title": form.title.data, "platform": form.platform.data, "year": form.year.data,
            "sections": form.sections.data, "min_per_section": form.min_per_section.data,
            "deadline": form.deadline.data, "submit_url": form.submit_url.data, "contact": form.contact_data()})
    except library.MetadataInvalid as exc:
        for name, message in exc.errors.items():
            field = form[RoundForm.contact_name(*name.split(".", 1)[1].split(".", 1))] if name.startswith("contact.") \
                else form[name]
            field.errors = list(field.errors) + [message]
        return None
    flash(_("已保存推荐活动“%(title)s”。", title=saved.title), "success")
    return redirect(url_for(".round_detail", round_id=saved.id))


@bp.route("/rounds/new", methods=["GET", "POST"])
def new_round():
    rounds.require_district(current_user)
    form = _round_form()
    if form.validate_on_submit() and (done := _save_round(form)):
        return done
    return render_template("sync_provincial/round_form.html", form=form, round=None, people=rounds.CONTACT_PEOPLE,
                           parts=rounds.CONTACT_PERSON_PARTS, person_labels=rounds.CONTACT_FIELDS)


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
def edit_round(round_id):
    rounds.require_district(current_user)
    round_ = rounds.get_round(round_id)
    form = _round_form(round_)
    if form.validate_on_submit() and (done := _save_round(form, round_)):
        return done
    return render_template("sync_provincial/round_form.html", form=form, round=round_, people=rounds.CONTACT_PEOPLE,
                           parts=rounds.CONTACT_PERSON_PARTS, person_labels=rounds.CONTACT_FIELDS)


@bp.route("/rounds/<int:round_id>/status", methods=["POST"])
def round_status(round_id):
    round_ = rounds.get_round(round_id)
    status = request.form.get("status", "")
    return button_step(lambda: rounds.set_round_status(current_user, round_, status),
                   _("已开放推荐。") if status == "open" else _("已停止接收推荐。"),
                   url_for(".round_detail", round_id=round_.id))


@bp.route("/rounds/<int:round_id>")
def round_detail(round_id):
    if not _may_take_part():
        abort(403)
    round_ = rounds.get_round(round_id)
    may_manage = can(current_user, "district.manage")
    school = current_user.school
    items = rounds.recommendations(round_) if may_manage else rounds.recommendations(round_, school_id=school.id)
    proposal_form = None
    if not may_manage and rounds.accepting_proposals(round_):
        proposal_form = ProposalForm()
        proposal_form.resource_id.choices = [(str(r.id), r.title) for r in rounds.proposable(round_, school.id)]
        proposal_form.placement.choices = [(f"{section}|{column}", f"{section} · {column}")
                                           for section in round_.section_list() for column in taxonomy.columns(section)]
    table = service.quota_table(round_, unit_id=None if may_manage else school.unit_id)
    return render_template(
        "sync_provincial/round.html", round=round_, items=items, may_manage=may_manage, table=table,
        chosen=rounds.chosen_counts(round_), progress=rounds.section_progress(round_),
        fixes={item.id: rounds.fix_list(item, current_user) for item in items if item.status == "proposed"},
        proposal_form=proposal_form, action_form=ActionForm(), answer_form=AnswerForm(),
        labels=rounds.STATUS_LABELS, accepting=rounds.accepting_proposals(round_),
        next_answers={item.id: [s for s in ANSWERS if item.status in rounds.RECORDED_AFTER[s]] for item in items})


@bp.route("/rounds/<int:round_id>/proposals", methods=["POST"])
def propose(round_id):
    if not _may_take_part():
        abort(403)
    round_ = rounds.get_round(round_id)
    form = ProposalForm()
    if not form.validate_on_submit():
        abort(400)
    section, _bar, column = (form.placement.data or "").partition("|")
    chosen = db.session.get(Resource, int(form.resource_id.data)) if (form.resource_id.data or "").isdigit() else None
    try:
        if chosen is None:
            raise ReslibError(_("请选择要推荐的资源。"), field="resource_id")
        rounds.propose(current_user, round_, chosen, section, column, form.note.data)
    except ReslibError as exc:
        raise_if_refused(exc)
        flash(exc.message, "error")
    else:
        flash(_("已推荐“%(title)s”，等待区教育局遴选。", title=chosen.title), "success")
    return redirect(url_for(".round_detail", round_id=round_.id))


def _recommendation_button(recommendation_id, action, success):
    recommendation = rounds.get_recommendation(recommendation_id)
    return button_step(lambda: action(current_user, recommendation), success,
                   url_for(".round_detail", round_id=recommendation.round_id))


@bp.route("/recommendations/<int:recommendation_id>/withdraw", methods=["POST"])
def withdraw(recommendation_id):
    return _recommendation_button(recommendation_id, rounds.withdraw, _("已撤回推荐。"))


@bp.route("/recommendations/<int:recommendation_id>/select", methods=["POST"])
def select(recommendation_id):
    return _recommendation_button(recommendation_id, rounds.select_candidate, _("已选定，计入名额。"))


@bp.route("/recommendations/<int:recommendation_id>/deselect", methods=["POST"])
def deselect(recommendation_id):
    return _recommendation_button(recommendation_id, rounds.deselect, _("已取消选定。"))


@bp.route("/recommendations/<int:recommendation_id>/answer", methods=["POST"])
def answer(recommendation_id):
    recommendation = rounds.get_recommendation(recommendation_id)
    form = AnswerForm()
    if not form.validate_on_submit():
        abort(400)
    return button_step(lambda: rounds.record_answer(current_user, recommendation, form.status.data,
                                                reason=form.reason.data, url=form.online_url.data),
                   _("已记录平台的结果。"), url_for(".round_detail", round_id=recommendation.round_id))


@bp.route("/rounds/<int:round_id>/deliver", methods=["POST"])
def deliver(round_id):
    round_ = rounds.get_round(round_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        report = connector.deliver(current_user, round_)
    except ReslibError as exc:
        raise_if_refused(exc)
        flash(exc.message, "error")
    else:
        flash(_("已与平台同步，%(n)s 条推荐的状态有变化。", n=report.changed), "success")
        for problem in report.problems:
            flash(problem, "error")
    return redirect(url_for(".round_detail", round_id=round_.id))


@bp.route("/rounds/<int:round_id>/form.<any(xlsx, pdf):kind>")
def recommendation_form(round_id, kind):
    rounds.require_district(current_user)
    round_ = rounds.get_round(round_id)
    if kind == "xlsx":
        return send_export(exports.form_xlsx(round_), XLSX_MIMETYPE, f"{exports.form_title(round_)}.xlsx")
    return send_export(exports.form_pdf(round_), "application/pdf", f"{exports.form_title(round_)}.pdf")


@bp.route("/rounds/<int:round_id>/package.zip")
def round_package(round_id):
    rounds.require_district(current_user)
    round_ = rounds.get_round(round_id)
    return send_export(exports.package_zip(round_), "application/zip", _("%(title)s材料包.zip", title=round_.title))


@bp.route("/resources/<int:resource_id>/metadata.zip")
def metadata_package(resource_id):
    """The resource's national metadata as JSON and XML, with its cover, for whoever may see it."""
    resource = library.get_resource(resource_id)
    require(current_user, "resource.view", resource)
    return send_export(packages.package(resource), "application/zip", f"{resource.title}-元数据.zip")
