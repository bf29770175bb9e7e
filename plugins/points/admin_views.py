"""The district admin's points pages: the rule table (积分规则) and the terms with their baselines (学期与基本分值).

The rule table has some fifty figures, and the 资源形式 are the district's own: its form is made for each request,
one text box per figure, named after where the figure sits in the table (``size__video__per``; a 资源形式's base
by the form's id, ``form__12``). The service checks every figure and names each one at fault.
"""
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import DataRequired

from plugins.points import periods, rules
from plugins.points.models import RuleVersion
from plugins.points.views import bp
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import School
from reslib.models.accounts import ROLES as ROLE_NAMES
from reslib.models.base import as_id
from reslib.permissions import can
from reslib.services import vocabularies
from reslib.views import show_error

SIZE_PARTS = ("per", "floor", "cap")
GROUPS = ("base", "form_base", "size", "quality", "actions", "prizes", "study", "ranking")  # the page's sections


def _district_only() -> None:
    if not can(current_user, "district.manage"):
        abort(403)


# --- 积分规则 ---------------------------------------------------------------------------------------

def _field_name(path: tuple, form_ids: dict) -> str:
    """The form field of a figure: its place in the table, a 资源形式 by its id (names are any text)."""
    if path[0] == "form_base":
        return f"form__{form_ids[path[1]]}"
    return "__".join(path)


def _shown(value) -> str:
    """A figure as the text box shows it: 2.0 as 2, 0.5 as 0.5."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _form_terms(table: dict) -> list:
    """The 资源形式 the page offers: those in use, and a retired one that still has a base in the table."""
    return [term for term in vocabularies.terms("form", include_retired=True)
            if term.active or term.name in table.get("form_base", {})]


def _labels(forms: list) -> dict:
    """Each figure's label on the page, where its group's heading says the rest."""
    labels = {("base", kind): label for kind, label in rules.FILE_KINDS.items()}
    labels.update({("form_base", term.name): vocabularies.term_label(term) for term in forms})
    for unit, measure in rules.SIZE_UNITS.items():
        labels[("size", unit, "per")] = _("每单位的量（%(unit)s）", unit=rules.UNIT_LABELS[measure])
        labels[("size", unit, "floor")] = _("下限")
        labels[("size", unit, "cap")] = _("上限")
    labels.update({("quality", grade): label for grade, label in rules.GRADES.items()})
    for action in rules.ACTIONS:
        labels[("actions", action)] = _("每次积分")
        labels[("daily_caps", action)] = _("每日最多次数")
    labels.update({("prizes", prize): label for prize, label in rules.PRIZES.items()})
    labels[("study_threshold",)] = _("学习阈值（播放达到时长的百分之几）")
    labels[("repeat_days",)] = _("重复计分间隔（天）")
    labels.update({("ranking", part): label for part, label in rules.RANKING.items()})
    return labels


def _rules_form(forms: list):
    """A form class with a text box for every figure, the effective date and the note."""
    form_ids = {term.name: term.id for term in forms}
    labels = _labels(forms)
    fields = {}
    for path, _where, integer, _limit in rules.figures(form_ids):
        fields[_field_name(path, form_ids)] = StringField(
            labels[path], render_kw={"inputmode": "numeric" if integer else "decimal", "autocomplete": "off"})
    fields["effective_from"] = StringField(_l("生效日期"), render_kw={"type": "date"})
    fields["note"] = StringField(_l("说明（选填）"), render_kw={"maxlength": rules.NOTE_MAX})
    return type("RulesForm", (FlaskForm,), fields), form_ids


def _initial(table: dict, form_ids: dict) -> dict:
    data = {}
    for path, *_rest in rules.figures(form_ids):
        value = table
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        data[_field_name(path, form_ids)] = "" if value is None else _shown(value)
    return data


def _table(form, form_ids: dict) -> dict:
    """The table as typed; a 资源形式 left empty takes its kind's base."""
    table = {"form_base": {}}
    for path, *_rest in rules.figures(form_ids):
        value = form[_field_name(path, form_ids)].data or ""
        if path[0] == "form_base" and not value.strip():
            continue
        place = table
        for key in path[:-1]:
            place = place.setdefault(key, {})
        place[path[-1]] = value
    return table


def _groups(form_ids: dict) -> list[dict]:
    """The page's sections: a heading, a hint, rows of fields (a row with a legend is one thing's figures)."""
    def name(*path):
        return _field_name(path, form_ids)

    return [
        {"key": "base", "title": _("基础分（按文件类型）"),
         "hint": _("资源积分值 = 基础分 × 容量系数 × 质量系数，四舍五入，至少 1 分。"),
         "rows": [{"fields": [name("base", kind) for kind in rules.FILE_KINDS]}]},
        {"key": "form_base", "title": _("基础分（按资源形式）"),
         "hint": _("填写了基础分的资源形式按这里计算，留空的按文件类型的基础分。"),
         "rows": [{"fields": [name("form_base", form) for form in form_ids]}]},
        {"key": "size", "title": _("容量系数"),
         "hint": _("视频、音频按分钟，文档按页，其他文件按 MB：大小 ÷ 每单位的量，再限制在下限与上限之间。链接和还没测出大小的资源按 1 计。"),
         "rows": [{"legend": rules._size_label(unit), "fields": [name("size", unit, part) for part in SIZE_PARTS]}
                  for unit in rules.SIZE_UNITS]},
        {"key": "quality", "title": _("质量系数（按评审等级）"), "hint": "",
         "rows": [{"fields": [name("quality", grade) for grade in rules.GRADES]}]},
        {"key": "actions", "title": _("使用资源得分"),
         "hint": _("同一个人对同一资源的同一种使用，在重复计分间隔内只计一次；每种使用每天最多计分“每日最多次数”次。"),
         "rows": [{"legend": label, "fields": [name("actions", action), name("daily_caps", action)]}
                  for action, label in rules.ACTIONS.items()]},
        {"key": "prizes", "title": _("评比获奖"), "hint": "",
         "rows": [{"fields": [name("prizes", prize) for prize in rules.PRIZES]}]},
        {"key": "study", "title": _("学习与重复计分"), "hint": "",
         "rows": [{"fields": [name("study_threshold"), name("repeat_days")]}]},
        {"key": "ranking", "title": _("学校排名权重"),
         "hint": _("学校评价中贡献、使用、达标三项的权重，各在 0 到 1 之间，不能全为 0。"),
         "rows": [{"fields": [name("ranking", part) for part in rules.RANKING]}]},
    ]


def _show_invalid(form, exc: rules.RulesInvalid, form_ids: dict, group_errors: dict) -> None:
    """Each message beside its figure; one about a part of the table (the ranking weights) above that part."""
    for key, message in exc.errors.items():
        path = tuple(key.split(".", 2 if key.startswith("size.") else 1))
        field = None
        if path[0] == "form_base" and len(path) == 2:
            field = form._fields.get(f"form__{form_ids.get(path[1])}")
        elif path[0] != "form_base":
            field = form._fields.get("__".join(path))
        if field is not None:
            field.errors = list(field.errors) + [message]
        elif path[0] in GROUPS:
            group_errors.setdefault(path[0], []).append(message)
        else:
            flash(message, "error")
    flash(_("没有保存：有 %(n)s 处需要修改，已在下方标出。", n=len(exc.errors)), "error")


@bp.route("/rules", methods=["GET", "POST"], endpoint="rules")
@login_required
def rule_table():
    """The rule table in effect today (or a version picked from the list), to save as a new version."""
    _district_only()
    today = periods.local_today()
    current = rules.version_on(today)
    shown = current
    if request.method == "GET" and as_id(request.args.get("version")):
        shown = db.session.get(RuleVersion, as_id(request.args.get("version"))) or current
    forms = _form_terms(shown.rules)
    form_class, form_ids = _rules_form(forms)
    if request.method == "POST":
        form = form_class()
    else:
        form = form_class(data={**_initial(shown.rules, form_ids), "effective_from": today.isoformat()})
    group_errors = {}
    if form.validate_on_submit():
        try:
            version = rules.save_version(current_user, _table(form, form_ids), form.effective_from.data, form.note.data)
        except rules.RulesInvalid as exc:
            _show_invalid(form, exc, form_ids, group_errors)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            if version.effective_from == today:
                flash(_("已保存新的积分规则，今天起生效。"), "success")
            else:
                flash(_("已保存新的积分规则，%(day)s 起生效；在那之前仍按现行规则计分。",
                        day=version.effective_from.isoformat()), "success")
            return redirect(url_for("points.rules"))
    versions = list(reversed(rules.versions()))
    return render_template("points/rules.html", form=form, groups=_groups(form_ids), group_errors=group_errors,
                           versions=versions, current=current, shown=shown, today=today)


# --- 学期与基本分值 -----------------------------------------------------------------------------------

class TermForm(FlaskForm):
    term = SelectField(_l("学期"), validate_choice=False)  # "" adds a term
    starts_on = StringField(_l("开始日期"), render_kw={"type": "date"})
    name = StringField(_l("学期名称"), render_kw={"maxlength": 64})


class BaselineForm(FlaskForm):
    term_id = HiddenField(validators=[DataRequired(_l("请选择学期"))])
    role = SelectField(_l("身份"), validate_choice=False, validators=[DataRequired(_l("请选择身份"))])
    school_id = SelectField(_l("适用范围"), validate_choice=False)
    points = StringField(_l("基本分值（留空则改回默认）"), render_kw={"inputmode": "numeric", "autocomplete": "off"})


def _chosen_term(terms: list, term_id) -> periods.Term:
    """The term whose baselines the page shows: the one asked for, else the current one."""
    wanted = as_id(term_id)
    return next((term for term in terms if term.id == wanted), None) or periods.current_term()


def _terms_page(term_form: TermForm, baseline_form: BaselineForm, term_id=None):
    terms = periods.terms()
    current = periods.current_term()
    term = _chosen_term(terms, term_id)
    schools = list(db.session.scalars(select(School).order_by(School.name)))
    term_form.term.choices = [("", _("添加新学期"))] + [(str(t.id), t.name) for t in reversed(terms)]
    baseline_form.role.choices = [(role, ROLE_NAMES[role]) for role in periods.ROLES]
    baseline_form.school_id.choices = [("", _("全区"))] + [(str(school.id), school.name) for school in schools]
    baseline_form.term_id.data = str(term.id)
    table = periods.baselines(term)
    names = {school.id: school.name for school in schools}
    overrides = sorted(((names.get(school_id, "?"), ROLE_NAMES[role], points)
                        for (role, school_id), points in table.items() if school_id is not None),
                       key=lambda row: (row[0], row[1]))
    district = [(ROLE_NAMES[role], table.get((role, None))) for role in periods.ROLES]
    defaults = current_app.config["POINTS_BASELINES"]
    return render_template("points/terms.html", terms=list(reversed(terms)), current=current, term=term,
                           term_form=term_form, baseline_form=baseline_form, district=district, overrides=overrides,
                           defaults={role: defaults.get(role) for role in periods.ROLES})


@bp.route("/terms", methods=["GET", "POST"], endpoint="terms")
@login_required
def terms_page():
    """The terms, a form to add or change one, and the baselines of one term (the current one unless asked)."""
    _district_only()
    periods.current_term()
    db.session.commit()  # the current term exists before a baseline is set for it
    term_form = TermForm()
    if term_form.validate_on_submit():
        term_id = None
        if term_form.term.data:
            term_id = as_id(term_form.term.data)
            if term_id is None:
                abort(404)
        try:
            row = periods.save_term(current_user, term_form.starts_on.data, term_form.name.data, term_id)
        except ReslibError as exc:
            show_error(term_form, exc)
        else:
            flash(_("已保存学期“%(name)s”，%(day)s 开始。", name=row.name, day=row.starts_on.isoformat()), "success")
            return redirect(url_for("points.terms"))
    return _terms_page(term_form, BaselineForm(formdata=None), request.args.get("term_id"))


@bp.route("/terms/baselines", methods=["POST"], endpoint="baseline_save")
@login_required
def baseline_save():
    """Set or remove one baseline of a term: the district's for a role, or a school's own."""
    _district_only()
    form = BaselineForm()
    if form.validate():
        try:
            periods.save_baseline(current_user, form.term_id.data, form.role.data, form.points.data,
                                  form.school_id.data)
        except ReslibError as exc:
            show_error(form, exc)
        else:
            flash(_("已保存基本分值。"), "success")
            return redirect(url_for("points.terms", term_id=as_id(form.term_id.data), _anchor="baselines"))
    return _terms_page(TermForm(formdata=None), form, form.term_id.data)
