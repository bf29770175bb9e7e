"""Administration: verification queue, accounts, rosters, schools, audit log, monitoring, plugins."""
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import ROLES, School, Term, Unit
from reslib.models.accounts import STATUSES
from reslib.models.base import as_id, get_by_id
from reslib.models.library import VOCABULARIES
from reslib.permissions import can, require
from reslib.plugins import for_the_district
from reslib.services import accounts, audit, importer, monitoring, roster, vocabularies
from reslib.services.tables import XLSX_MIMETYPE
from reslib.views import page_number, safe_next, show_error
from reslib.views.forms import (
    ActionForm,
    ImportForm,
    ReasonForm,
    RolesForm,
    SchoolForm,
    TermForm,
    TransferForm,
    UploadForm,
    choices,
)
from reslib.views.library import send_export

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a signed-in account; each view then asks the policy for the specific right."""


def _schools():
    return db.session.scalars(select(School).order_by(School.name)).all()


def _school_filter() -> int | None:
    """District admins may pick a school; everyone else is held to their own."""
    if current_user.has_role("district_admin"):
        return request.args.get("school_id", type=as_id)
    return current_user.school_id


@bp.route("/verifications")
def verifications():
    require(current_user, "accounts.list")
    stmt = accounts.accounts_query(current_user, school_id=_school_filter(), status="pending")
    page = db.paginate(stmt.order_by(None).order_by(db.text("created_at")), page=page_number(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("admin/verifications.html", page=page, schools=_schools(),
                           action_form=ActionForm(), reason_form=ReasonForm())


@bp.route("/accounts", endpoint="accounts")
def accounts_page():
    require(current_user, "accounts.list")
    args = request.args
    stmt = accounts.accounts_query(current_user, school_id=_school_filter(), status=args.get("status"),
                                   role=args.get("role"), q=args.get("q"))
    page = db.paginate(stmt, page=page_number(), per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return render_template("admin/accounts.html", page=page, schools=_schools(), roles=ROLES, statuses=STATUSES)


@bp.route("/accounts/<int:user_id>")
def account(user_id):
    user = accounts.get_user(user_id)
    require(current_user, "account.manage", user)
    return render_template(
        "admin/account.html", user=user, action_form=ActionForm(), reason_form=ReasonForm(),
        transfer_form=_transfer_form(), roles_form=RolesForm(roles=sorted(user.roles)),
        can_transfer=can(current_user, "account.transfer", user), can_roles=can(current_user, "account.roles", user),
    )


def _transfer_form(**kwargs):
    form = TransferForm(**kwargs)
    form.school_id.choices = choices((s.id, s.name) for s in _schools())
    return form


def _account_action(user_id, permission, form, action, done_message):
    """Run one lifecycle action from a posted form and go back to where it was asked.

    The policy is asked before the form is read, so a refused user learns nothing from validation.
    """
    user = accounts.get_user(user_id)
    require(current_user, permission, user)
    back = safe_next(request.form.get("back"), url_for("admin.account", user_id=user.id))
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for message in errors:
                flash(message, "error")
        return redirect(back)
    try:
        result = action(user)
    except ReslibError as exc:
        flash(exc.message, "error")
    else:
        flash(done_message if result is None else done_message % {"value": result}, "success")
    return redirect(back)


@bp.route("/accounts/<int:user_id>/verify", methods=["POST"])
def verify(user_id):
    return _account_action(user_id, "account.verify", ActionForm(), lambda u: accounts.verify(current_user, u),
                           _("已通过审核，账号现在可以登录。"))


@bp.route("/accounts/<int:user_id>/reject", methods=["POST"])
def reject(user_id):
    form = ReasonForm()
    return _account_action(user_id, "account.verify", form, lambda u: accounts.reject(current_user, u, form.reason.data),
                           _("已退回，申请人登录时会看到原因。"))


@bp.route("/accounts/<int:user_id>/disable", methods=["POST"])
def disable(user_id):
    form = ReasonForm()
    return _account_action(user_id, "account.manage", form, lambda u: accounts.disable(current_user, u, form.reason.data),
                           _("账号已停用。"))


@bp.route("/accounts/<int:user_id>/enable", methods=["POST"])
def enable(user_id):
    return _account_action(user_id, "account.manage", ActionForm(), lambda u: accounts.enable(current_user, u),
                           _("账号已恢复。"))


@bp.route("/accounts/<int:user_id>/unlock", methods=["POST"])
def unlock(user_id):
    return _account_action(user_id, "account.manage", ActionForm(), lambda u: accounts.unlock(current_user, u),
                           _("账号已解锁。"))


@bp.route("/accounts/<int:user_id>/reset-password", methods=["POST"])
def reset_password(user_id):
    return _account_action(
        user_id, "account.manage", ActionForm(), lambda u: accounts.reset_password(current_user, u),
        _("临时密码：%(value)s —— 请当面或电话告知本人，登录后须立即修改。"),
    )


@bp.route("/accounts/<int:user_id>/transfer", methods=["POST"])
def transfer(user_id):
    form = _transfer_form()
    return _account_action(user_id, "account.transfer", form,
                           lambda u: accounts.transfer(current_user, u, form.school_id.data), _("已转到新学校。"))


@bp.route("/accounts/<int:user_id>/roles", methods=["POST"])
def roles(user_id):
    form = RolesForm()
    return _account_action(user_id, "account.roles", form, lambda u: accounts.set_roles(current_user, u, form.roles.data),
                           _("角色已更新。"))


@bp.route("/accounts/export")
def export_accounts():
    """The school's accounts as XLSX: personal data, so only for its admins, and audited."""
    school = accounts.get_school(_school_filter())
    workbook = accounts.export_school_accounts(current_user, school)
    return send_export(workbook, XLSX_MIMETYPE, f"accounts-{school.code or school.id}-{date.today():%Y%m%d}.xlsx")


@bp.route("/roster", methods=["GET", "POST"])
def roster_import():
    form = UploadForm()
    form.school_id.choices = choices((s.id, s.name) for s in _schools())
    school_id = form.school_id.data if current_user.has_role("district_admin") and form.school_id.data else current_user.school_id
    school = get_by_id(School, school_id)
    if school is None and not current_user.has_role("district_admin"):
        abort(403)
    if school is not None:
        require(current_user, "roster.import", school)
    report = None
    if form.validate_on_submit():
        try:
            upload = form.file.data
            report = roster.import_roster(current_user, accounts.get_school(school_id), upload.filename,
                                          upload.read(), dry_run=form.dry_run.data)
        except ReslibError as exc:
            show_error(form, exc)
    return render_template("admin/roster.html", form=form, report=report, school=school)


@bp.route("/schools", methods=["GET", "POST"])
def schools():
    require(current_user, "schools.manage")
    form = SchoolForm()
    if form.validate_on_submit():
        try:
            roster.add_school(current_user, form.name.data, form.unit.data, form.code.data)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已添加学校。"), "success")
            return redirect(url_for("admin.schools"))
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    return render_template("admin/schools.html", form=form, upload_form=UploadForm(), units=units, report=None)


@bp.route("/schools/import", methods=["POST"])
def schools_import():
    require(current_user, "schools.manage")
    upload_form = UploadForm()
    report = None
    if upload_form.validate_on_submit():
        try:
            report = roster.import_schools(current_user, upload_form.file.data.filename, upload_form.file.data.read(),
                                           dry_run=upload_form.dry_run.data)
        except ReslibError as exc:
            show_error(upload_form, exc)
    units = db.session.scalars(select(Unit).order_by(Unit.name)).all()
    return render_template("admin/schools.html", form=SchoolForm(formdata=None), upload_form=upload_form,
                           units=units, report=report)


@bp.route("/audit", endpoint="audit")
def audit_log():
    require(current_user, "audit.view")
    args = request.args
    school_id = None if current_user.has_role("district_admin") else current_user.school_id
    stmt = audit.query_events(school_id=school_id, action=args.get("action"), actor=args.get("actor"),
                              target=args.get("target"), result=args.get("result"))
    page = db.paginate(stmt, page=page_number(), per_page=50, error_out=False)
    return render_template("admin/audit.html", page=page, actions=audit.known_actions(),
                           action_labels=audit.action_labels(), results=audit.RESULTS,
                           target_labels=audit.target_labels(event.target for event in page.items))


@bp.route("/monitoring", endpoint="monitoring")
def monitoring_page():
    require(current_user, "monitoring.view")
    return render_template("admin/monitoring.html", **monitoring.overview())


@bp.route("/plugins")
def plugins():
    require(current_user, "plugins.view")
    return render_template("admin/plugins.html", plugins=for_the_district(current_app.config))


# --- vocabularies (学段, 学科, 年级, 教材版本, 资源形式, 所属分类) -----------------------------------

@bp.route("/taxonomy", methods=["GET"])
def taxonomy():
    require(current_user, "taxonomy.manage")
    return _taxonomy_page(request.args.get("vocabulary", "subject"), TermForm())


def _taxonomy_page(vocabulary: str, form: TermForm, status: int = 200):
    if vocabulary not in VOCABULARIES:
        abort(404)
    form.parent_id.choices = choices([("", _("（顶级）"))] + [(str(i), path) for i, path in vocabularies.choices("category")])
    return render_template("admin/taxonomy.html", vocabulary=vocabulary, vocabularies=VOCABULARIES, form=form,
                           terms=vocabularies.terms(vocabulary, include_retired=True), action_form=ActionForm(),
                           reason_form=ReasonForm()), status


@bp.route("/taxonomy/<vocabulary>", methods=["POST"])
def add_term(vocabulary):
    require(current_user, "taxonomy.manage")
    form = TermForm()
    if form.validate_on_submit():
        try:
            vocabularies.add_term(current_user, vocabulary, form.name.data, form.parent_id.data or None)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已添加“%(name)s”", name=form.name.data.strip()), "success")
            return redirect(url_for("admin.taxonomy", vocabulary=vocabulary))
    return _taxonomy_page(vocabulary, form, 422)


@bp.route("/taxonomy/terms/<int:term_id>/<any(retire, restore):change>", methods=["POST"])
def change_term(term_id, change):
    require(current_user, "taxonomy.manage")
    term = db.get_or_404(Term, term_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    vocabularies.set_active(current_user, term, change == "restore")
    return redirect(url_for("admin.taxonomy", vocabulary=term.vocabulary))


@bp.route("/taxonomy/terms/<int:term_id>/rename", methods=["POST"])
def rename_term(term_id):
    require(current_user, "taxonomy.manage")
    term = db.get_or_404(Term, term_id)
    form = ReasonForm()  # one text box; its "reason" is the new name
    if form.validate_on_submit():
        try:
            vocabularies.rename_term(current_user, term, form.reason.data)
        except ReslibError as exc:
            flash(exc.message, "error")
    else:
        flash(_("请填写新名称"), "error")
    return redirect(url_for("admin.taxonomy", vocabulary=term.vocabulary))


# --- bulk import of catalogue records -------------------------------------------------------

@bp.route("/import", methods=["GET", "POST"], endpoint="import_resources")
def import_resources():
    libraries = [("district", _("区级资源库"))] if can(current_user, "resources.import") else []
    libraries += [(str(s.id), _("%(name)s 校本资源库", name=s.name)) for s in _schools()
                  if can(current_user, "resources.import", s)]
    if not libraries:
        abort(403)
    form = ImportForm()
    form.library.choices = choices(libraries)
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report = importer.import_records(current_user, upload.filename, upload.read(),
                                             library=form.library.data, dry_run=form.dry_run.data)
        except ReslibError as exc:
            show_error(form, exc)
    return render_template("admin/import.html", form=form, report=report)
