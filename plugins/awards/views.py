"""区级评比 pages: competitions and their set-up, entering, the school's stage, judging, results, certificates,
the teacher's record; and, without sign-in, the published results and the verification of a certificate."""
import re
from datetime import date

from flask import (Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from plugins.awards import certificates, entries, judging, record, results, service
from plugins.awards.forms import (CategoryForm, CompetitionForm, EntryForm, PrizeForm, ReasonForm,
                                  SettingsForm, StatusForm, UsernameForm)
from plugins.awards.models import PRIZE_LABELS, Assignment, Category, Entry, EntryAuthor
from reslib.errors import ReslibError
from reslib.extensions import db, limiter
from reslib.ratelimit import limit_reads
from reslib.models import Resource, School
from reslib.models.library import KINDS
from reslib.permissions import can
from reslib.services import vocabularies
from reslib.services.identity import pupil_name
from reslib.services.tables import XLSX_MIMETYPE
from reslib.views import button_step, raise_if_refused, show_error
from reslib.views.forms import ActionForm
from reslib.views.library import send_blob, send_export

bp = Blueprint("awards", __name__, url_prefix="/awards", template_folder="templates")
# Published results and certificate verification: for anyone, signed in or not.
public = Blueprint("awards_public", __name__, template_folder="templates")

DEFAULT_ENTRIES = 100
# The district admin's button for each allowed step (service.TRANSITIONS).
ACTIONS = {
    ("draft", "open"): _l("开始征集"),
    ("draft", "closed"): _l("取消评比"),
    ("open", "judging"): _l("截止征集，进入评审"),
    ("judging", "closed"): _l("评审结束，锁定评分"),
}


@bp.before_request
@login_required
def _signed_in():
    """Every page here is for signed-in accounts; the services decide what each may see or change."""


def _get(model, object_id):
    row = db.session.get(model, object_id)
    if row is None:
        raise ReslibError(_("没有找到。"), code="not_found", status=404)
    return row


def _entries() -> tuple[int, str | None]:
    """The example entry count from ``?entries=``, or the default with the reason when it is not a count."""
    raw = request.args.get("entries", "").strip()
    if not raw:
        return DEFAULT_ENTRIES, None
    try:
        return service.parse_entries(raw), None
    except ReslibError as exc:
        return DEFAULT_ENTRIES, exc.message


# --- competitions ------------------------------------------------------------------------------------

@bp.route("/")
def index():
    entries_count, entries_error = _entries()
    competitions = service.list_competitions(current_user)
    default_rule = {"ratio": current_app.config["AWARDS_PRIZE_RATIO"], "rate": current_app.config["AWARDS_MAX_RATE"]}
    try:
        default_allocation, rule_error = service.allocate_prizes(entries_count, default_rule["ratio"],
                                                                 default_rule["rate"]), None
    except ReslibError as exc:  # the district's AWARDS_* settings are mistyped: say so instead of failing the page
        default_allocation, rule_error = None, exc.message
    allocations = {c.id: service.allocate_prizes(entries_count, c.prize_ratio, c.max_award_rate) for c in competitions}
    return render_template(
        "awards/index.html", competitions=competitions, allocations=allocations, entries=entries_count,
        entries_error=entries_error, default_rule=default_rule, default_allocation=default_allocation,
        rule_error=rule_error, can_manage=can(current_user, "district.manage"),
    )


@bp.route("/<int:competition_id>")
def detail(competition_id):
    competition = service.get_competition(current_user, competition_id)
    entries_count, entries_error = _entries()
    can_manage = can(current_user, "district.manage")
    mine = entries.mine(current_user, competition)
    return render_template(
        "awards/detail.html", competition=competition, entries=entries_count, entries_error=entries_error,
        allocation=service.allocate_prizes(entries_count, competition.prize_ratio, competition.max_award_rate),
        can_manage=can_manage, status_form=StatusForm(), action_form=ActionForm(), mine=mine,
        may_enter=entries.window_open(competition) and not entries.eligibility_problem(competition, current_user),
        window_open=entries.window_open(competition), panel=judging.panel(competition) if can_manage else [],
        panel_form=UsernameForm(prefix="panel"), category_form=_category_form(),
        school_admin=current_user.has_role("school_admin") and current_user.school_id is not None,
        actions=[(new, label) for (old, new), label in ACTIONS.items() if old == competition.status] if can_manage else [],
        schools={school.id: school.name for school in db.session.scalars(select(School))},
    )


@bp.route("/new", methods=["GET", "POST"])
def new():
    service.require_district_admin(current_user)
    form = CompetitionForm(year=str(date.today().year), prize_ratio=current_app.config["AWARDS_PRIZE_RATIO"],
                           max_award_rate=str(current_app.config["AWARDS_MAX_RATE"]))
    if form.validate_on_submit():
        try:
            competition = service.create_competition(
                current_user, form.title.data, form.year.data, form.description.data, form.prize_ratio.data,
                form.max_award_rate.data, form.entry_deadline.data, opens_on=form.opens_on.data,
            )
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已创建评比草稿。确认无误后点“开始征集”，全区师生才能看到。"), "success")
            return redirect(url_for("awards.detail", competition_id=competition.id))
    return render_template("awards/new.html", form=form)


@bp.route("/<int:competition_id>/settings", methods=["GET", "POST"])
def settings(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    form = SettingsForm(obj=None if request.method == "POST" else _Settings(competition))
    form.eligible_roles.choices = [("teacher", _("教师")), ("student", _("学生"))]
    form.eligible_schools.choices = [(str(school.id), school.name)
                                     for school in db.session.scalars(select(School).order_by(School.code))]
    if form.validate_on_submit():
        try:
            service.update_settings(current_user, competition, **{
                name: getattr(form, name).data for name in (
                    "title", "year", "description", "prize_ratio", "max_award_rate", "opens_on", "entry_deadline",
                    "eligible_roles", "eligible_schools", "per_teacher", "school_quota", "max_authors",
                    "judges_per_entry", "disagreement_margin", "blind", "rubric")})
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("评比设置已保存。"), "success")
            return redirect(url_for("awards.detail", competition_id=competition.id))
    return render_template("awards/settings.html", form=form, competition=competition)


class _Settings:
    """A competition's settings as the form shows them (text, lists of ids as strings, the rubric as lines)."""

    def __init__(self, competition):
        for name in ("title", "year", "description", "prize_ratio", "max_award_rate", "per_teacher", "school_quota",
                     "max_authors", "judges_per_entry", "disagreement_margin", "blind"):
            value = getattr(competition, name)
            setattr(self, name, value if isinstance(value, bool) else "" if value is None else str(value))
        self.opens_on = competition.opens_on.isoformat() if competition.opens_on else ""
        self.entry_deadline = competition.entry_deadline.isoformat() if competition.entry_deadline else ""
        self.eligible_roles = competition.roles
        self.eligible_schools = [str(school_id) for school_id in competition.eligible_school_ids]
        self.rubric = service.rubric_text(competition.rubric)


def _category_form() -> CategoryForm:
    form = CategoryForm(prefix="category")
    form.kind.choices = [("", _("不限"))] + [(key, str(label)) for key, label in KINDS.items()]
    form.subject_id.choices = [("", _("不限"))] + [(str(i), label) for i, label in vocabularies.choices("subject")]
    form.stage_id.choices = [("", _("不限"))] + [(str(i), label) for i, label in vocabularies.choices("stage")]
    form.form_id.choices = [("", _("不限"))] + [(str(i), label) for i, label in vocabularies.choices("form")]
    return form


@bp.route("/<int:competition_id>/categories", methods=["POST"])
def add_category(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    form = _category_form()
    if not form.validate_on_submit():
        flash(next(iter(form.errors.values()))[0] if form.errors else _("请检查组别"), "error")
    else:
        try:
            service.add_category(current_user, competition, form.name.data, form.kind.data, form.subject_id.data,
                                 form.stage_id.data, form.form_id.data, form.section.data, form.prize_ratio.data,
                                 form.max_award_rate.data)
        except ReslibError as exc:
            raise_if_refused(exc)
            flash(exc.message, "error")
        else:
            flash(_("已添加组别。"), "success")
    return redirect(url_for("awards.detail", competition_id=competition.id, _anchor="categories"))


@bp.route("/categories/<int:category_id>/delete", methods=["POST"])
def remove_category(category_id):
    category = _get(Category, category_id)
    service.require_district_admin(current_user)
    return button_step(lambda: service.remove_category(current_user, category), _("已删除组别。"),
                 url_for("awards.detail", competition_id=category.competition_id, _anchor="categories"))


@bp.route("/<int:competition_id>/status", methods=["POST"])
def change_status(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)  # before reading the form: refused users learn nothing
    form = StatusForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        service.set_status(current_user, competition, form.status.data)
    except ReslibError as exc:
        raise_if_refused(exc)
        flash(exc.message, "error")  # the status field is a hidden button value: say it at the top
    else:
        flash(_("评比状态已改为“%(status)s”。", status=competition.status_label), "success")
    return redirect(url_for("awards.detail", competition_id=competition.id))


@bp.route("/<int:competition_id>/panel", methods=["POST"])
def add_judge(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    form = UsernameForm(prefix="panel")
    back = url_for("awards.detail", competition_id=competition.id, _anchor="panel")
    if not form.validate_on_submit():
        flash(_("请填写评审专家的用户名"), "error")
        return redirect(back)
    return button_step(lambda: judging.add_judge(current_user, competition, form.username.data), _("已加入评审专家。"), back)


@bp.route("/<int:competition_id>/panel/<int:user_id>/remove", methods=["POST"])
def remove_judge(competition_id, user_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    return button_step(lambda: judging.remove_judge(current_user, competition, user_id), _("已移出评审专家。"),
                 url_for("awards.detail", competition_id=competition.id, _anchor="panel"))


# --- entering ----------------------------------------------------------------------------------------

@bp.route("/<int:competition_id>/enter", methods=["GET", "POST"])
def enter(competition_id):
    competition = service.get_competition(current_user, competition_id)
    form = EntryForm()
    form.resource_id.choices = [(str(r.id), f"{r.title}（{r.status_label}）")
                                for r in entries.enterable_resources(current_user)]
    form.category_id.choices = [(str(c.id), c.name) for c in competition.categories]
    problem = entries.eligibility_problem(competition, current_user)
    if form.validate_on_submit() and not problem:
        resource = db.session.get(Resource, int(form.resource_id.data)) if form.resource_id.data.isdigit() else None
        category = db.session.get(Category, int(form.category_id.data)) if form.category_id.data.isdigit() else None
        try:
            if resource is None or category is None:
                raise ReslibError(_("请选择资源和组别"), field="resource_id")
            entries.enter(current_user, competition, resource, category,
                          re.split(r"[,，、\s]+", form.co_authors.data or ""))
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已报名。截止前可以撤回；资源须在评审开始前审核通过并发布。"), "success")
            return redirect(url_for("awards.detail", competition_id=competition.id, _anchor="mine"))
    return render_template("awards/enter.html", competition=competition, form=form, problem=problem,
                           window_open=entries.window_open(competition))


@bp.route("/entries/<int:entry_id>/withdraw", methods=["POST"])
def withdraw(entry_id):
    entry = _get(Entry, entry_id)
    competition_id = entry.competition_id
    return button_step(lambda: entries.withdraw(current_user, entry), _("已撤回参评作品。"),
                 url_for("awards.detail", competition_id=competition_id, _anchor="mine"))


# --- the school's stage ------------------------------------------------------------------------------

def _school_id() -> int:
    """The school a page is about: the school admin's own; the district names one with ``?school=``."""
    if can(current_user, "district.manage"):
        raw = request.args.get("school", "")
        return int(raw) if raw.isdigit() else abort(404)
    return current_user.school_id


@bp.route("/<int:competition_id>/school")
def school(competition_id):
    competition = service.get_competition(current_user, competition_id)
    school_id = _school_id()
    entries.require_school_admin(current_user, school_id)
    rows = entries.school_entries(competition, school_id)
    return render_template("awards/school.html", competition=competition, rows=rows, school=db.session.get(School, school_id),
                           chosen=sum(1 for entry in rows if entry.selected), action_form=ActionForm())


@bp.route("/entries/<int:entry_id>/select", methods=["POST"])
def select_entry(entry_id):
    entry = _get(Entry, entry_id)
    entries.require_school_admin(current_user, entry.school_id)
    selected = request.form.get("selected") == "1"
    return button_step(lambda: entries.select_for_district(current_user, entry, selected),
                 _("已推荐到区级评审。") if selected else _("已取消推荐。"),
                 url_for("awards.school", competition_id=entry.competition_id, school=entry.school_id))


@bp.route("/<int:competition_id>/school.xlsx")
def school_export(competition_id):
    competition = service.get_competition(current_user, competition_id)
    school_id = _school_id()
    data = entries.school_export(current_user, competition, school_id)
    return send_export(data, XLSX_MIMETYPE, f"{competition.title}-参评作品.xlsx")


# --- judging -----------------------------------------------------------------------------------------

@bp.route("/<int:competition_id>/judging")
def manage_judging(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    judged = entries.judged_entries(competition)
    return render_template("awards/manage_judging.html", competition=competition, judged=judged,
                           progress=judging.progress(competition), action_form=ActionForm(),
                           assign_form=UsernameForm(prefix="assign"), mean_score=judging.mean_score)


@bp.route("/<int:competition_id>/assign", methods=["POST"])
def assign_automatically(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    back = url_for("awards.manage_judging", competition_id=competition.id)
    try:
        if not ActionForm().validate_on_submit():
            abort(400)
        short = judging.assign_automatically(current_user, competition)
    except ReslibError as exc:
        raise_if_refused(exc)
        flash(exc.message, "error")
        return redirect(back)
    if short:
        flash(_("已分配评审；%(n)s 件作品找不到足够的无利益冲突的评审专家，请增加评审专家后再分配。", n=len(short)), "error")
    else:
        flash(_("已分配评审，每件作品至少 %(n)s 位评审专家。", n=competition.judges_per_entry), "success")
    return redirect(back)


@bp.route("/entries/<int:entry_id>/judges", methods=["POST"])
def assign_judge(entry_id):
    entry = _get(Entry, entry_id)
    service.require_district_admin(current_user)
    form = UsernameForm(prefix="assign")
    back = url_for("awards.manage_judging", competition_id=entry.competition_id, _anchor=f"entry-{entry.id}")
    if not form.validate_on_submit():
        flash(_("请填写评审专家的用户名"), "error")
        return redirect(back)
    return button_step(lambda: judging.assign(current_user, entry, form.username.data), _("已指定评审专家。"), back)


@bp.route("/assignments/<int:assignment_id>/remove", methods=["POST"])
def unassign(assignment_id):
    assignment = _get(Assignment, assignment_id)
    service.require_district_admin(current_user)
    competition_id = assignment.entry.competition_id
    return button_step(lambda: judging.unassign(current_user, assignment), _("已撤下评审专家。"),
                 url_for("awards.manage_judging", competition_id=competition_id))


@bp.route("/judging")
def judge_tasks():
    tasks = judging.my_assignments(current_user)
    return render_template("awards/judge_tasks.html", tasks=tasks,
                           done=sum(1 for task in tasks if task.submitted_at is not None))


@bp.route("/judging/<int:assignment_id>", methods=["GET", "POST"])
def score(assignment_id):
    assignment = judging.get_assignment(current_user, assignment_id)
    competition = assignment.entry.competition
    form = ReasonForm()
    errors = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        rubric = competition.rubric
        points = [request.form.get(f"points-{index}", "") for index in range(len(rubric))]
        comments = [request.form.get(f"comment-{index}", "") for index in range(len(rubric))]
        try:
            judging.submit_scores(current_user, assignment, points, comments, form.reason.data)
        except ReslibError as exc:
            raise_if_refused(exc)
            errors[exc.field or ""] = exc.message
            if not exc.field:
                flash(exc.message, "error")
        else:
            flash(_("评分已提交。"), "success")
            return redirect(url_for("awards.judge_tasks"))
    resource = assignment.entry.resource
    return render_template("awards/score.html", assignment=assignment, competition=competition, resource=resource,
                           form=form, errors=errors, blind=competition.blind, values=request.form)


@bp.route("/judging/<int:assignment_id>/file")
def judged_file(assignment_id):
    """The entry's file for its judge, without the resource page that names its author."""
    assignment = judging.get_assignment(current_user, assignment_id)
    resource = assignment.entry.resource
    if not resource.file_sha256:
        raise ReslibError(_("这个资源没有文件"), code="not_found", status=404)
    sha, mime = ((resource.rendition_sha256, resource.rendition_mime) if resource.rendition_sha256
                 else (resource.file_sha256, resource.file_mime))
    inline = bool(resource.rendition_sha256) or resource.inline_safe
    return send_blob(sha, mime, None, policy="sandbox; default-src 'none'; media-src 'self'; img-src 'self'",
                     attachment=not inline)


# --- results -----------------------------------------------------------------------------------------

@bp.route("/<int:competition_id>/results/preview")
def preview(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    form = PrizeForm()
    form.level.choices = [("", _("按评分"))] + [(key, str(label)) for key, label in PRIZE_LABELS.items()] + [
        ("none", _("不获奖"))]
    return render_template("awards/preview.html", competition=competition, results=results.preview(competition),
                           prize_form=form, action_form=ActionForm(), labels=PRIZE_LABELS)


@bp.route("/entries/<int:entry_id>/prize", methods=["POST"])
def adjust_prize(entry_id):
    entry = _get(Entry, entry_id)
    service.require_district_admin(current_user)
    form = PrizeForm()
    back = url_for("awards.preview", competition_id=entry.competition_id, _anchor=f"entry-{entry.id}")
    if not form.validate_on_submit():
        abort(400)
    return button_step(lambda: results.adjust(current_user, entry, form.level.data, form.reason.data), _("已调整奖项。"), back)


@bp.route("/<int:competition_id>/publish", methods=["POST"])
def publish(competition_id):
    competition = service.get_competition(current_user, competition_id)
    service.require_district_admin(current_user)
    return button_step(lambda: results.publish(current_user, competition), _("结果已发布，获奖证书已生成。"),
                 url_for("awards_public.results", competition_id=competition.id))


# --- certificates and the record ---------------------------------------------------------------------

@bp.route("/certificates/<number>.pdf")
def certificate_pdf(number):
    certificate = certificates.get_for(current_user, number)
    return send_export(certificates.pdf(certificate), "application/pdf", f"证书-{certificate.number}.pdf")


@bp.route("/certificates/<number>/revoke", methods=["POST"])
def revoke(number):
    service.require_district_admin(current_user)  # first: whether a number exists is not for others to learn
    certificate = certificates.get_for(current_user, number)
    form = ReasonForm()
    if not form.validate_on_submit():
        abort(400)
    return button_step(lambda: certificates.revoke(current_user, certificate, form.reason.data), _("证书已撤销。"),
                 url_for("awards_public.verify", number=certificate.number))


@bp.route("/school/certificates.zip")
def school_certificates():
    return send_export(certificates.school_zip(current_user, _school_id()), "application/zip", "证书.zip")


@bp.route("/mine")
def mine():
    held = certificates.of_holder(current_user.id)
    rows = db.session.scalars(select(Entry).where(Entry.authors.any(EntryAuthor.user_id == current_user.id))
                              .order_by(Entry.id.desc())).all()
    return render_template("awards/mine.html", held=held, rows=rows, labels=PRIZE_LABELS)


@bp.route("/mine/record.<any(xlsx, pdf):kind>")
def my_record(kind):
    return _record(kind, _("%(name)s 获奖记录", name=current_user.real_name),
                   record.of_people([current_user.id]))


@bp.route("/school/record.<any(xlsx, pdf):kind>")
def school_record(kind):
    school_id = _school_id()
    held = record.of_school(current_user, school_id)
    school = db.session.get(School, school_id)
    return _record(kind, _("%(school)s 教师获奖记录", school=school.name), held)


def _record(kind: str, title: str, held) -> Response:
    if kind == "xlsx":
        return send_export(record.xlsx(title, held), XLSX_MIMETYPE, f"{title}.xlsx")
    return send_export(record.pdf(title, held), "application/pdf", f"{title}.pdf")


# --- public --------------------------------------------------------------------------------------------

@public.route("/awards/<int:competition_id>/results", endpoint="results")
def results_page(competition_id):
    competition = service.get_competition(current_user, competition_id)
    if competition.published_at is None:
        if can(current_user, "district.manage"):
            return redirect(url_for("awards.preview", competition_id=competition.id))
        raise ReslibError(_("评比结果还没有发布。"), code="not_found", status=404)
    return render_template("awards/results.html", competition=competition,
                           published=results.published_list(competition), labels=PRIZE_LABELS, author=_author)


def _author(user) -> str:
    """Prize lists are public: a pupil is named as on the school's notice board (林同学)."""
    return pupil_name(user.real_name) if user.has_role("student") and not user.has_role("teacher") else user.real_name


@public.route("/verify", endpoint="verify_form")
@public.route("/verify/<number>")
@limit_reads
@limiter.limit(lambda: current_app.config["AWARDS_VERIFY_RATE_LIMIT"])
def verify(number=None):
    number = number or request.args.get("number")
    certificate, malformed = None, False
    if number:
        certificate = certificates.find(number)
        malformed = certificates.normalised(number) is None
    status = 200 if certificate is not None or not number else 404
    return render_template("awards/verify.html", number=number, certificate=certificate, malformed=malformed), status
