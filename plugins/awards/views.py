"""区级评比 pages: the list with a prize calculator, one competition, the district admin's set-up form."""
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from plugins.awards import service
from plugins.awards.forms import CompetitionForm, StatusForm
from reslib.errors import ReslibError
from reslib.permissions import can
from reslib.views import raise_if_refused, show_error

bp = Blueprint("awards", __name__, url_prefix="/awards", template_folder="templates")

DEFAULT_ENTRIES = 100
# The district admin's button for each allowed step (service.TRANSITIONS).
ACTIONS = {
    ("draft", "open"): _l("开始征集"),
    ("draft", "closed"): _l("取消评比"),
    ("open", "judging"): _l("截止征集，进入评审"),
    ("judging", "closed"): _l("评审结束"),
}


@bp.before_request
@login_required
def _signed_in():
    """Every page here is for signed-in accounts; the service decides what each may see or change."""


def _entries() -> tuple[int, str | None]:
    """The example entry count from ``?entries=``, or the default with the reason when it is not a count."""
    raw = request.args.get("entries", "").strip()
    if not raw:
        return DEFAULT_ENTRIES, None
    try:
        return service.parse_entries(raw), None
    except ReslibError as exc:
        return DEFAULT_ENTRIES, exc.message


@bp.route("/")
def index():
    entries, entries_error = _entries()
    competitions = service.list_competitions(current_user)
    default_rule = {"ratio": current_app.config["AWARDS_PRIZE_RATIO"], "rate": current_app.config["AWARDS_MAX_RATE"]}
    try:
        default_allocation, rule_error = service.allocate_prizes(entries, default_rule["ratio"], default_rule["rate"]), None
    except ReslibError as exc:  # the district's AWARDS_* settings are mistyped: say so instead of failing the page
        default_allocation, rule_error = None, exc.message
    allocations = {c.id: service.allocate_prizes(entries, c.prize_ratio, c.max_award_rate) for c in competitions}
    return render_template(
        "awards/index.html", competitions=competitions, allocations=allocations, entries=entries,
        entries_error=entries_error, default_rule=default_rule, default_allocation=default_allocation,
        rule_error=rule_error, can_manage=can(current_user, "district.manage"),
    )


@bp.route("/<int:competition_id>")
def detail(competition_id):
    competition = service.get_competition(current_user, competition_id)
    entries, entries_error = _entries()
    can_manage = can(current_user, "district.manage")
    return render_template(
        "awards/detail.html", competition=competition, entries=entries, entries_error=entries_error,
        allocation=service.allocate_prizes(entries, competition.prize_ratio, competition.max_award_rate),
        can_manage=can_manage, status_form=StatusForm(),
        actions=[(new, label) for (old, new), label in ACTIONS.items() if old == competition.status] if can_manage else [],
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
                form.max_award_rate.data, form.entry_deadline.data,
            )
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已创建评比草稿。确认无误后点“开始征集”，全区师生才能看到。"), "success")
            return redirect(url_for("awards.detail", competition_id=competition.id))
    return render_template("awards/new.html", form=form)


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
