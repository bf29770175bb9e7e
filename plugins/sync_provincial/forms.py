"""Forms of the recommendation and harvest pages. Numbers and dates arrive as text: the services check them with Chinese
messages."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from reslib.views.forms import choices

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


class SourceForm(FlaskForm):
    """Every value arrives as text: harvest.save_source checks them with Chinese messages."""

    name = StringField(_l("名称"))
    kind = SelectField(_l("类型"), choices=choices([("oai", _l("OAI-PMH 接口")), ("json", _l("JSON 目录"))]),
                       validate_choice=False)
    base_url = StringField(_l("接口地址"))
    metadata_prefix = SelectField(_l("元数据格式（OAI-PMH）"),
                                  choices=choices([("nsr", _l("nsr：国家平台元数据")),
                                                   ("oai_dc", _l("oai_dc：都柏林核心"))]),
                                  validate_choice=False)
    set_spec = StringField(_l("集合 setSpec（选填）"))
    mode = SelectField(_l("方式"), choices=choices([("link", _l("以链接方式汇集")), ("copy", _l("复制文件到本区"))]),
                       validate_choice=False)
    school_id = SelectField(_l("采集到"), validate_choice=False)
    category_mapping = TextAreaField(_l("分类对照（选填）"))
    interval_hours = StringField(_l("每隔几小时采集一次"), render_kw={"inputmode": "numeric"})
    enabled = BooleanField(_l("启用"))
