"""Forms of the awards pages. Numbers and dates arrive as text: the service checks them with Chinese messages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class CompetitionForm(FlaskForm):
    title = StringField(_l("评比名称"), validators=[DataRequired(_l("请填写评比名称")), Length(max=128)])
    year = StringField(_l("年度"), validators=[DataRequired(_l("请填写年度"))])
    description = TextAreaField(_l("说明（选填）"), validators=[Optional(), Length(max=2000)])
    prize_ratio = StringField(_l("一、二、三等奖比例"), validators=[DataRequired(_l("请填写获奖比例"))])
    max_award_rate = StringField(_l("获奖率上限（%）"), validators=[DataRequired(_l("请填写获奖率上限"))])
    entry_deadline = StringField(_l("作品征集截止日期（选填）"), validators=[Optional()])


class StatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
