"""Signing in and out, registration, password change, language choice."""
import time

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select

from reslib.errors import ReslibError
from reslib.extensions import db, limiter
from reslib.models import School
from reslib.ratelimit import address_limit
from reslib.services import accounts
from reslib.views import fresh_session, safe_next, show_error
from reslib.views.forms import ActionForm, ChangePasswordForm, LoginForm, RegisterForm, choices

bp = Blueprint("auth", __name__)


def _setting(name):
    return lambda: current_app.config[name]


def _attempted_account() -> str:
    return "login:" + (request.form.get("username") or "").strip().lower()[:64]


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    if request.args.get("timeout"):
        flash(_("长时间未操作，已自动退出，请重新登录。"), "info")
    return render_template("auth/login.html", form=LoginForm())


# Only attempts are throttled: showing the form is a read, and reads never pass through the limiter.
# A school's address gets a limit sized for the bell, other addresses a tighter one (reslib.ratelimit).
@bp.post("/login")
@limiter.limit(address_limit)
@limiter.limit(_setting("LOGIN_RATE_LIMIT_PER_ACCOUNT"), key_func=_attempted_account)
def sign_in():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    try:
        user = accounts.authenticate(form.username.data, form.password.data)
    except ReslibError as exc:
        flash(exc.message, "error")
        return render_template("auth/login.html", form=form), exc.status
    # A fresh session at sign-in: nothing from before the login survives into it.
    target = safe_next(request.args.get("next"), url_for("main.dashboard"))
    fresh_session()
    # A new CSRF secret for the new session, in the cookie set now: the next page need not rewrite it.
    g.pop("csrf_token", None)
    generate_csrf()
    accounts.start_session(user)
    login_user(user)
    session.permanent = True
    session["seen"] = int(time.time())
    return redirect(target)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if ActionForm().validate_on_submit():
        accounts.end_session(current_user)
        logout_user()
        fresh_session()
        flash(_("已安全退出。"), "info")
    return redirect(url_for("main.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_setting("REGISTER_RATE_LIMIT"), methods=["POST"])
def register():
    form = RegisterForm()
    schools = db.session.scalars(select(School).order_by(School.name)).all()
    form.school_id.choices = choices([(0, _("请选择学校"))] + [(s.id, s.name) for s in schools])
    if form.validate_on_submit():
        try:
            user = accounts.register(
                username=form.username.data, password=form.password.data, real_name=form.real_name.data,
                role=form.role.data, school_id=form.school_id.data, identifier=form.identifier.data,
                id_number=form.id_number.data,
            )
        except ReslibError as exc:
            show_error(form, exc)
        else:
            return render_template("auth/registered.html", user=user)
    return render_template("auth/register.html", form=form)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current_password.data, form.password.data)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("密码已修改。"), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/change_password.html", form=form)


@bp.route("/language/<code>", methods=["POST"])
def set_language(code):
    if ActionForm().validate_on_submit() and code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.form.get("next"), url_for("main.index")))
