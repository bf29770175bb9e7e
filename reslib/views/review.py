"""Review pages: the queues, one resource's review page, and the forms of each workflow step."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import Form, FormField, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import CheckboxInput, ListWidget

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import School
from reslib.models.base import as_id
from reslib.models.library import STATUSES, STEP_LABELS
from reslib.permissions import can, require
from reslib.services import library, review, vocabularies
from reslib.views import page_number, raise_if_refused, show_error
from reslib.views.forms import StepForm, choices

bp = Blueprint("review", __name__)

# The policy action behind each form on the review page.
ACTIONS = {
    "submit": "resource.edit", "school": "resource.review_school", "recommend": "resource.recommend",
    "assign": "resource.assign_panel", "score": "resource.score", "decide": "resource.decide",
    "withdraw": "resource.withdraw",
}
STAGE_LABELS = {
    "submitted": _l("待学校审核"), "school_approved": _l("已入校本库，可推荐到区级"),
    "needs_panel": _l("待指派评审专家"), "ready": _l("评分完成，待决定"), "scoring": _l("评分中"),
    "unscored": _l("待我评分"), "scored": _l("我已评分"),
}
QUEUE_TITLES = {"school": _l("学校审核"), "reviewer": _l("我的评审任务"), "district": _l("区级评审")}
# The metadata a reviewer may comment on one by one when returning a resource (labels as on the edit form).
COMMENTED_FIELDS = {
    "title": _l("资源标题"), "description": _l("资源简介"), "kind": _l("资源类别"), "form_id": _l("资源形式"),
    "stage_id": _l("学段"), "subject_id": _l("学科"), "grade_id": _l("年级"), "edition_id": _l("教材版本"),
    "chapter": _l("章节"), "category_id": _l("所属分类"), "created_on": _l("创建时间"),
    "copyright_holder": _l("版权方"), "presenters": _l("主讲人"), "keywords": _l("关键词"),
    "type_code": _l("资源类型代码"), "source": _l("来源"), "licence": _l("授权方式"),
}

# The forms carry CSRF and keep what was typed; the service checks every value, in Chinese.
FieldNotes = type("FieldNotes", (Form,), {name: StringField(label) for name, label in COMMENTED_FIELDS.items()})


class DecisionForm(StepForm):
    comment = TextAreaField(_l("意见"), render_kw={"rows": 3})
    notes = FormField(FieldNotes, label=_l("逐项修改意见（退回修改时填写，可只填需要修改的项）"))

    def field_comments(self) -> dict:
        return {name: text for name, text in self.notes.data.items() if (text or "").strip()}


class SchoolDecisionForm(DecisionForm):
    decision = RadioField(_l("审核结论"), validate_choice=False, choices=choices([
        ("approve", _l("通过，进入校本资源库")), ("approve_and_recommend", _l("通过，并推荐到区级评审")),
        ("return", _l("退回修改")), ("reject", _l("不通过")),
    ]))


class DistrictDecisionForm(DecisionForm):
    decision = RadioField(_l("评审结论"), validate_choice=False, choices=choices([
        ("publish", _l("通过，进入区级资源库（按评审均分定等级）")), ("return", _l("退回修改")), ("reject", _l("不通过")),
    ]))


class PanelForm(StepForm):
    reviewer_ids = SelectMultipleField(_l("评审专家"), validate_choice=False, widget=ListWidget(prefix_label=False),
                                       option_widget=CheckboxInput())
    due = StringField(_l("评分截止日期"), render_kw={"type": "date"})


class WithdrawForm(StepForm):
    reason = StringField(_l("撤下原因"), render_kw={"maxlength": review.REASON_MAX})


def score_form(formdata=None, data=None) -> FlaskForm:
    """One number box per criterion of the configured rubric (c0, c1, …), and a comment."""
    rubric = current_app.config["REVIEW_RUBRIC"]

    class ScoreForm(StepForm):
        comment = TextAreaField(_l("评语"), render_kw={"rows": 3})
        criteria = list(rubric)

        def criterion_fields(self) -> list:
            return [self[f"c{i}"] for i in range(len(self.criteria))]

        def scores(self) -> dict:
            return {name: self[f"c{i}"].data for i, name in enumerate(self.criteria)}

        def add_errors(self, errors: dict) -> None:
            for i, name in enumerate(self.criteria):
                if name in errors:
                    self[f"c{i}"].errors = [errors[name]]

    for i, (name, top) in enumerate(rubric.items()):
        setattr(ScoreForm, f"c{i}", StringField(
            _l("%(criterion)s（满分 %(top)s）", criterion=name, top=top),
            render_kw={"type": "number", "min": 0, "max": top, "step": "any", "inputmode": "decimal"}))
    return ScoreForm(formdata=formdata, data=data)


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a signed-in account; each view then asks the policy."""


@bp.route("/review")
def queue():
    require(current_user, "review.queue")
    stage = request.args.get("stage") if request.args.get("stage") in review.STAGES else None
    page = page_number() if stage else 1  # without a stage the desk shows the first page of each
    filters = {"subject_id": request.args.get("subject_id", type=as_id),
               "school_id": request.args.get("school_id", type=as_id)}
    return render_template(
        "review/queue.html", queues=review.queues_for(current_user, stage=stage, page=page, **filters),
        counts=review.queue_counts(current_user), stage=stage, filters=filters,
        stage_labels=STAGE_LABELS, queue_titles=QUEUE_TITLES, queue_stages=review.QUEUE_STAGES, actionable=review.ACTIONABLE,
        subjects=vocabularies.choices("subject"), schools=db.session.scalars(select(School).order_by(School.name)).all(),
    )


@bp.route("/resources/<int:resource_id>/review")
def detail(resource_id):
    return _detail_page(library.get_resource(resource_id, details=True))


def _detail_page(resource, status=200, **posted):
    """The review page; ``posted`` is the form just sent back with its errors and what was typed."""
    require(current_user, "review.view", resource)
    allowed = {name: can(current_user, action, resource) for name, action in ACTIONS.items()}
    panel = review.panel_summary(resource)
    own = next((a for a in panel.assignments if a.reviewer_id == current_user.id), None)
    forms = {
        "action": StepForm(),
        "school": SchoolDecisionForm(formdata=None),
        "decide": DistrictDecisionForm(formdata=None),
        "withdraw": WithdrawForm(formdata=None),
        "assign": _panel_form(resource, panel, formdata=None),
        "score": score_form(data=_own_scores(own)),
        **posted,
    }
    for form in forms.values():
        form.shown_status.data = resource.status
    return render_template(
        "review/detail.html", resource=resource, checks=review.checks_for(resource, current_user), panel=panel, own=own,
        history=review.history(resource), allowed=allowed, forms=forms, statuses=STATUSES, step_labels=STEP_LABELS,
        field_labels=COMMENTED_FIELDS, today=review.today(), queue_link=can(current_user, "review.queue"),
    ), status


def _panel_form(resource, panel, formdata):
    """Offers the eligible reviewers not yet on the panel (those on it stay; the panel table lists them)."""
    form = PanelForm(formdata=formdata, data={"due": resource.review_due.isoformat() if resource.review_due else ""})
    assigned = {a.reviewer_id for a in panel.assignments}
    form.reviewer_ids.choices = choices(
        (str(user.id), f"{user.real_name}（{user.school.name if user.school else _('区教育局')}）")
        for user in review.eligible_reviewers(resource) if user.id not in assigned)
    return form


def _own_scores(assignment) -> dict:
    if assignment is None:
        return {}
    scores = assignment.scores
    data = {f"c{i}": scores.get(name, "") for i, name in enumerate(current_app.config["REVIEW_RUBRIC"])}
    return {**data, "comment": assignment.comment}


def _act(resource_id, name, form, run):
    """Run one workflow step from its posted form: back to the review page with a flash when it worked,
    else the page again with the errors next to the fields and what was typed kept."""
    resource = library.get_resource(resource_id)
    if not can(current_user, ACTIONS[name], resource):  # before reading the form: refused users learn nothing
        return refused(resource)
    if form.validate_on_submit():
        try:
            message = run(resource)
        except library.MetadataInvalid as exc:
            if hasattr(form, "add_errors"):
                form.add_errors(exc.errors)
            else:
                for text in exc.errors.values():
                    flash(text, "error")
        except library.StateChanged:
            return changed_page(resource)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(message, "success")
            return redirect(url_for("review.detail", resource_id=resource.id))
    return _detail_page(resource, 422, **{name: form})


def refused(resource):
    """A step its user may not take. When the page it was sent from showed another status, the resource
    has moved on since then: the user is told on its review page (409) rather than refused (403)."""
    shown = request.form.get("shown_status")
    if shown and shown != resource.status and can(current_user, "review.view", resource):
        return changed_page(resource)
    abort(403)


def changed_page(resource):
    """The review page as the resource stands now, saying the step was not taken; the forms are fresh,
    since what was sent was meant for the old status."""
    flash(library.StateChanged(resource.status_label).message, "error")
    return _detail_page(resource, 409)


@bp.route("/resources/<int:resource_id>/submit", methods=["POST"])
def submit(resource_id):
    """From the owner's edit page; what is missing is shown there."""
    resource = library.get_resource(resource_id)
    if not can(current_user, "resource.edit", resource):
        return refused(resource)
    if not StepForm().validate_on_submit():
        abort(400)
    try:
        review.submit(current_user, resource)
    except library.MetadataInvalid as exc:
        for text in exc.errors.values():
            flash(text, "error")
    except library.StateChanged:
        return changed_page(resource)
    except ReslibError as exc:
        raise_if_refused(exc)
        flash(exc.message, "error")
    else:
        flash(_("已提交学校审核"), "success")
        return redirect(url_for("review.detail", resource_id=resource.id))
    return redirect(url_for("upload.edit", resource_id=resource.id))


SCHOOL_DONE = {
    "approve": _l("已通过，资源进入校本资源库"), "approve_and_recommend": _l("已通过，并推荐到区级评审"),
    "return": _l("已退回修改，上传者会看到修改意见"), "reject": _l("已标记为不通过"),
}
DISTRICT_DONE = {
    "publish": _l("已通过，资源进入区级资源库"), "return": _l("已退回修改，上传者会看到修改意见"),
    "reject": _l("已标记为不通过"),
}


@bp.route("/resources/<int:resource_id>/school-decision", methods=["POST"])
def school_decision(resource_id):
    form = SchoolDecisionForm()

    def run(resource):
        review.school_decision(current_user, resource, form.decision.data, form.comment.data, form.field_comments())
        return SCHOOL_DONE[form.decision.data]

    return _act(resource_id, "school", form, run)


@bp.route("/resources/<int:resource_id>/recommend", methods=["POST"])
def recommend(resource_id):
    def run(resource):
        review.recommend(current_user, resource)
        return _("已推荐到区级评审")

    return _act(resource_id, "recommend", StepForm(), run)


@bp.route("/resources/<int:resource_id>/panel", methods=["POST"])
def assign(resource_id):
    resource = library.get_resource(resource_id)
    form = _panel_form(resource, review.panel_summary(resource), formdata=request.form)

    def run(resource):
        review.assign_panel(current_user, resource, form.reviewer_ids.data, form.due.data)
        return _("评审专家已指派")

    return _act(resource_id, "assign", form, run)


@bp.route("/resources/<int:resource_id>/scores", methods=["POST"])
def score(resource_id):
    form = score_form(formdata=request.form)

    def run(resource):
        review.score(current_user, resource, form.scores(), form.comment.data)
        return _("评分已保存；区级作出决定之前仍可修改")

    return _act(resource_id, "score", form, run)


@bp.route("/resources/<int:resource_id>/decision", methods=["POST"])
def decide(resource_id):
    form = DistrictDecisionForm()

    def run(resource):
        review.decide(current_user, resource, form.decision.data, form.comment.data, form.field_comments())
        return DISTRICT_DONE[form.decision.data]

    return _act(resource_id, "decide", form, run)


@bp.route("/resources/<int:resource_id>/withdraw", methods=["POST"])
def withdraw(resource_id):
    form = WithdrawForm()

    def run(resource):
        review.withdraw(current_user, resource, form.reason.data)
        return _("资源已撤下")

    return _act(resource_id, "withdraw", form, run)
