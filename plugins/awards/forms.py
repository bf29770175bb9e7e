"""Forms of the awards pages. Numbers and dates arrive as text: the services check them with Chinese messages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class CompetitionForm(FlaskForm):
    title = StringField(_l("评比名称"), validators=[DataRequired(_l("请填写评比名称")), Length(max=128)])
    year = StringField(_l("年度"), validators=[DataRequired(_l("请填写年度"))])
    description = TextAreaField(_l("说明（选填）"), validators=[Optional(), Length(max=2000)])
    prize_ratio = StringField(_l("一、二、三等奖比例"), validators=[DataRequired(_l("请填写获奖比例"))])
    max_award_rate = StringField(_l("获奖率上限（%）"), validators=[DataRequired(_l("请填写获奖率上限"))])
    opens_on = StringField(_l("征集开始日期（选填）"), validators=[Optional()], render_kw={"type": "date"})
    entry_deadline = StringField(_l("作品征集截止日期（选填）"), validators=[Optional()], render_kw={"type": "date"})


class SettingsForm(CompetitionForm):
    eligible_roles = SelectMultipleField(_l("参评身份"), validate_choice=False, widget=ListWidget(prefix_label=False),
                                         option_widget=CheckboxInput())
    eligible_schools = SelectMultipleField(_l("参评学校（不选则全区学校均可参评）"), validate_choice=False)
    per_teacher = StringField(_l("每人最多报名件数"), render_kw={"inputmode": "numeric"})
    school_quota = StringField(_l("每校推荐名额（留空则不设学校推荐环节）"), render_kw={"inputmode": "numeric"})
    max_authors = StringField(_l("每件作品最多作者数（含本人）"), render_kw={"inputmode": "numeric"})
    judges_per_entry = StringField(_l("每件作品评审专家人数"), render_kw={"inputmode": "numeric"})
    disagreement_margin = StringField(_l("评分差距超过多少分时加评"), render_kw={"inputmode": "numeric"})
    blind = BooleanField(_l("匿名评审（评审专家看不到作者和学校）"))
    rubric = TextAreaField(_l("评分标准（每行一项：名称|分值|说明|需评语 是/否，分值合计 100）"))


class CategoryForm(FlaskForm):
    name = StringField(_l("组别名称"), validators=[DataRequired(_l("请填写组别名称")), Length(max=64)])
    kind = SelectField(_l("资源类型"), validate_choice=False)
    form_id = SelectField(_l("资源形式"), validate_choice=False)
    subject_id = SelectField(_l("学科"), validate_choice=False)
    stage_id = SelectField(_l("学段"), validate_choice=False)
    section = StringField(_l("国家平台版块（选填）"), validators=[Optional(), Length(max=32)])
    prize_ratio = StringField(_l("获奖比例（留空同评比）"), validators=[Optional()])
    max_award_rate = StringField(_l("获奖率上限（留空同评比）"), validators=[Optional()])


class EntryForm(FlaskForm):
    resource_id = SelectField(_l("参评资源"), validate_choice=False, validators=[DataRequired(_l("请选择资源"))])
    category_id = SelectField(_l("组别"), validate_choice=False, validators=[DataRequired(_l("请选择组别"))])
    co_authors = StringField(_l("合作者用户名（选填，多人用逗号分隔）"), validators=[Optional(), Length(max=500)])


class UsernameForm(FlaskForm):
    username = StringField(_l("用户名"), validators=[DataRequired(_l("请填写用户名")), Length(max=64)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("理由"), validators=[Optional(), Length(max=500)])


class PrizeForm(ReasonForm):
    level = SelectField(_l("奖项"), validate_choice=False)


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])

