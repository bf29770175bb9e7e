"""Web forms. Format checks reuse the services' own validators, so the form and the service agree."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, HiddenField, PasswordField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from reslib.errors import ReslibError
from reslib.models import ROLES
from reslib.services import identity


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3+ wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def _service_check(check):
    def validator(form, field):
        try:
            check(field.data)
        except ReslibError as exc:
            raise ValidationError(exc.message) from exc

    return validator


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class StepForm(ActionForm):
    """A review step's button or form. It carries the status the page showed, so that a step sent from a
    page that has gone stale (another admin, or the same person in another tab, acted first) is told so."""

    shown_status = HiddenField()


class LoginForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请输入用户名"))])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请输入密码"))])


class RegisterForm(FlaskForm):
    real_name = StringField(_l("真实姓名"), validators=[DataRequired(_l("请填写真实姓名")), _service_check(identity.normalise_real_name)])
    role = RadioField(_l("身份"), choices=choices([("student", _l("学生")), ("teacher", _l("教师"))]), default="student",
                      validators=[DataRequired(_l("请选择身份"))])
    school_id = SelectField(_l("学校"), coerce=int, validate_choice=False,
                            validators=[DataRequired(_l("请选择学校"))])
    identifier = StringField(_l("学号或工号"), validators=[DataRequired(_l("请填写学校给你的学号或工号")),
                                                        _service_check(identity.normalise_identifier)])
    id_number = StringField(_l("身份证号码（选填）"), validators=[Optional(), _service_check(identity.protect_national_id)])
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请设置用户名")), _service_check(identity.normalise_username)])
    password = PasswordField(_l("密码"), validators=[DataRequired(_l("请设置密码"))])
    confirm = PasswordField(_l("再次输入密码"), validators=[EqualTo("password", _l("两次输入的密码不一致"))])
    agree = BooleanField(_l("我确认以上信息真实，并同意学校依规处理我的个人信息"),
                         validators=[DataRequired(_l("请阅读并勾选同意"))])


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("当前密码"), validators=[DataRequired(_l("请输入当前密码"))])
    password = PasswordField(_l("新密码"), validators=[DataRequired(_l("请输入新密码"))])
    confirm = PasswordField(_l("再次输入新密码"), validators=[EqualTo("password", _l("两次输入的密码不一致"))])


class ReasonForm(FlaskForm):
    reason = StringField(_l("原因"), validators=[DataRequired(_l("请填写原因")), Length(max=255)])


class TransferForm(FlaskForm):
    school_id = SelectField(_l("转入学校"), coerce=int, validate_choice=False, validators=[DataRequired(_l("请选择学校"))])


class RolesForm(FlaskForm):
    roles = SelectMultipleField(_l("角色"), choices=choices(ROLES.items()), widget=ListWidget(prefix_label=False),
                                option_widget=CheckboxInput())


class UploadForm(FlaskForm):
    file = FileField(_l("文件（.csv 或 .xlsx）"), validators=[FileRequired(_l("请选择文件"))])
    school_id = SelectField(_l("学校"), coerce=int, validate_choice=False, validators=[Optional()])
    dry_run = BooleanField(_l("只检查，不导入"))


class SchoolForm(FlaskForm):
    name = StringField(_l("学校名称"), validators=[DataRequired(_l("请填写学校名称")), Length(max=128)])
    unit = StringField(_l("所属单位（区县/片区）"), validators=[DataRequired(_l("请填写所属单位")), Length(max=64)])
    code = StringField(_l("学校代码"), validators=[Optional(), Length(max=32)])


class TokenForm(FlaskForm):
    name = StringField(_l("令牌名称"), validators=[DataRequired(_l("请给令牌起个名字，便于区分")), Length(max=64)])


class TermForm(FlaskForm):
    name = StringField(_l("名称"), validators=[DataRequired(_l("请填写名称")), Length(max=64)])
    parent_id = SelectField(_l("上级分类"), validate_choice=False, validators=[Optional()])


class ImportForm(FlaskForm):
    file = FileField(_l("文件（.csv、.xlsx 或 .jsonl）"), validators=[FileRequired(_l("请选择文件"))])
    # The policy, not the list, decides who may import where: the service is asked with whatever was chosen.
    library = SelectField(_l("导入到"), validate_choice=False, validators=[DataRequired(_l("请选择资源库"))])
    dry_run = BooleanField(_l("只检查，不导入"))
