"""The public front page, each person's dashboard and profile, health check."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select, text

from reslib.extensions import db
from reslib.models import School
from reslib.models.library import STATUSES
from reslib.permissions import can
from reslib.services import accounts, browse, library, reports, review
from reslib.views.forms import ActionForm, TokenForm
from reslib.views.review import STAGE_LABELS

bp = Blueprint("main", __name__)
LATEST_SHOWN = 4  # newest district resources on the dashboard: one row on a classroom screen, two on a phone
RETURNED_SHOWN = 5  # resources sent back for revision listed by name; "my resources" has the rest


@bp.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    schools = db.session.scalar(select(func.count(School.id)))
    return render_template("main/index.html", schools=schools)


@bp.route("/dashboard")
@login_required
def dashboard():
    """Each person's start page: what waits for them (reviews, returned resources), then what is new."""
    district = reports.district_overview() if can(current_user, "schools.manage") else None
    school = None
    if current_user.has_role("school_admin") and current_user.school_id:
        school = reports.school_overview(current_user.school)
    mine = library.my_status_counts(current_user) if can(current_user, "resource.upload") else None
    returned = review.sent_back_to(current_user, RETURNED_SHOWN) if mine and mine.get("returned") else []
    return render_template(
        "main/dashboard.html", district=district, school=school, action_form=ActionForm(),
        work=review.queue_counts(current_user), actionable=review.ACTIONABLE, stage_labels=STAGE_LABELS,
        mine=mine, status_labels=STATUSES, returned=returned,
        latest=browse.newest(current_user, LATEST_SHOWN),
    )


@bp.route("/profile")
@login_required
def profile():
    return render_template(
        "main/profile.html", user=current_user, tokens=accounts.tokens_of(current_user),
        token_form=TokenForm(), action_form=ActionForm(), new_token=None,
    )


@bp.route("/profile/tokens", methods=["POST"])
@login_required
def create_token():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        new_token = accounts.create_token(current_user, form.name.data)
        form = TokenForm(formdata=None)
    return render_template(
        "main/profile.html", user=current_user, tokens=accounts.tokens_of(current_user),
        token_form=form, action_form=ActionForm(), new_token=new_token,
    )


@bp.route("/profile/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    if not ActionForm().validate_on_submit():
        abort(400)
    accounts.revoke_token(current_user, token_id)
    flash(_("令牌已撤销，使用它的脚本将无法再访问。"), "success")
    return redirect(url_for("main.profile"))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # report any driver error as "down", never crash the probe
        db.session.rollback()
        return jsonify(status="error", database="unreachable", error=type(exc).__name__), 503
    return jsonify(status="ok", database="ok")
