"""The points pages: a person's own points, and the district admin's award page (record an award or a
correction, see the latest ones)."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from plugins.points import rules, service
from reslib.errors import ReslibError
from reslib.permissions import can
from reslib.views import page_number, show_error

bp = Blueprint("points", __name__, url_prefix="/points", template_folder="templates")

RECENT_AWARDS = 20
HISTORY_PAGE = 50


@bp.app_template_filter("points_kind")
def kind_label(kind: str) -> str:
    """A rule's kind of file, or a 资源形式's name as it is."""
    return str(rules.FILE_KINDS.get(kind, kind))


@bp.app_template_filter("points_unit")
def unit_label(unit: str) -> str:
    return str(rules.UNIT_LABELS.get(unit, unit))


@bp.app_template_filter("points_grade")
def grade_label(grade: str) -> str:
    return str(rules.GRADES.get(grade, grade))


@bp.route("/")
@login_required
def mine():
    """My points: this term and past ones against the baseline, and every entry with its reason."""
    return render_template("points/mine.html", standings=service.standings(current_user),
                           page=service.history(current_user, page=page_number(), per_page=HISTORY_PAGE))


class AwardForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写要记分的账号的用户名")), Length(max=64)])
    # Text, not a number input: phone number pads often lack the minus sign that corrections need.
    amount = StringField(_l("分值（扣分或更正填负数）"), validators=[DataRequired(_l("请填写分值"))])
    reason = StringField(_l("原因"), validators=[DataRequired(_l("请填写记分原因")), Length(max=255)])


@bp.route("/award", methods=["GET", "POST"])
@login_required
def award():
    if not can(current_user, "district.manage"):
        abort(403)
    form = AwardForm()
    if form.validate_on_submit():
        try:
            user = service.find_account(form.username.data)
            entry = service.award(current_user, user, form.amount.data, form.reason.data)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已给 %(name)s（%(username)s）记 %(amount)s 分。", name=user.real_name, username=user.username,
                    amount=f"{entry.amount:+d}"), "success")
            return redirect(url_for("points.award"))
    return render_template("points/award.html", form=form, recent=service.recent_awards(RECENT_AWARDS))
