"""Forms of the recommendation pages. Numbers and dates arrive as text: the services check them with Chinese
messages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from plugins.sync_provincial.rounds import CONTACT_FIELDS, CONTACT_PEOPLE, CONTACT_PERSON_PARTS


class RoundForm(FlaskForm):
    title = StringField(_l("推荐活动名称"), validators=[Length(max=200)])
    platform = StringField(_l("推荐到的平台"), validators=[Length(max=100)])
    year = StringField(_l("年度"), render_kw={"inputmode": "numeric"})
    sections = SelectMultipleField(_l("征集的版块"), validate_choice=False, widget=ListWidget(prefix_label=False),
                                   option_widget=CheckboxInput())
    min_per_section = StringField(_l("每个版块全区至少推荐条数"), render_kw={"inputmode": "numeric"})
    deadline = StringField(_l("截止日期"), render_kw={"type": "date"})
    submit_url = StringField(_l("平台接收接口地址（选填；不填则下载材料包手工报送）"),
                             validators=[Optional(), Length(max=1000)])

    @classmethod
    def contact_name(cls, key: str, part: str | None = None) -> str:
        return f"contact_{key}__{part}" if part else f"contact_{key}"

    def contact_data(self) -> dict[str, str]:
        """The 联系表 fields as the service stores them: "unit", "admin_head.name", ..."""
        data = {key: self[self.contact_name(key)].data for key in ("unit", "department", "address")}
        for person in CONTACT_PEOPLE:
            for part in CONTACT_PERSON_PARTS:
                data[f"{person}.{part}"] = self[self.contact_name(person, part)].data
        return data


# Seed 000's 联系表, one text field per cell.
for _key in ("unit", "department", "address"):
    setattr(RoundForm, RoundForm.contact_name(_key), StringField(CONTACT_FIELDS[_key], validators=[Length(max=100)]))
for _person in CONTACT_PEOPLE:
    for _part, _label in CONTACT_PERSON_PARTS.items():
        setattr(RoundForm, RoundForm.contact_name(_person, _part), StringField(_label, validators=[Length(max=100)]))


class ProposalForm(FlaskForm):
    resource_id = SelectField(_l("推荐的资源"), validate_choice=False)
    placement = SelectField(_l("拟上线版块 · 栏目"), validate_choice=False)
    note = StringField(_l("备注（选填）"), validators=[Optional(), Length(max=200)])


class AnswerForm(FlaskForm):
    status = SelectField(_l("平台的结果"), validate_choice=False)
    reason = StringField(_l("未采纳的原因"), validators=[Optional(), Length(max=500)])
    online_url = StringField(_l("上线地址"), validators=[Optional(), Length(max=1000)])


class ActionForm(FlaskForm):
    """Only the CSRF token, for a button."""
