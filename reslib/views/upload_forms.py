"""The metadata form. The service checks every value (so the web and the API agree); the form renders
the fields, carries CSRF and puts the service's messages next to the fields they concern."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired

from reslib.models.library import KINDS, LICENCES, SOURCES, TYPE_CODES
from reslib.national import SECTIONS
from reslib.services import vocabularies
from reslib.views.forms import StepForm, choices


class LinkForm(FlaskForm):
    link_url = StringField(_l("资源网址"), validators=[DataRequired(_l("请填写资源网址"))])
    title = StringField(_l("资源标题"))


def _none_first(pairs):
    return choices([("", _l("（请选择）"))] + [(str(value), label) for value, label in pairs])


class MetadataForm(StepForm):
    title = StringField(_l("资源标题"))
    description = TextAreaField(_l("资源简介"))
    kind = SelectField(_l("资源类别"), validate_choice=False)
    form_id = SelectField(_l("资源形式"), validate_choice=False)
    stage_id = SelectField(_l("学段"), validate_choice=False)
    subject_id = SelectField(_l("学科"), validate_choice=False)
    grade_id = SelectField(_l("年级"), validate_choice=False)
    edition_id = SelectField(_l("教材版本"), validate_choice=False)
    chapter = StringField(_l("章节"))
    category_id = SelectField(_l("所属分类"), validate_choice=False)
    national_target = SelectField(_l("拟上线版块 / 栏目"), validate_choice=False)
    created_on = StringField(_l("创建时间"), render_kw={"type": "date", "placeholder": "2022-03-23"})
    copyright_holder = StringField(_l("版权方"))
    presenters = StringField(_l("主讲人"), render_kw={"placeholder": "张建华;朱新"})
    keywords = StringField(_l("关键词"), render_kw={"placeholder": "勾股定理;几何"})
    type_code = SelectField(_l("资源类型代码"), validate_choice=False)
    source = SelectField(_l("来源"), validate_choice=False)
    licence = SelectField(_l("授权方式"), validate_choice=False)
    catalogue_xml = TextAreaField(_l("资源目录（XML）"), render_kw={"rows": 4})
    link_url = StringField(_l("资源网址"))

    # The service's field names that this form shows under another name.
    FIELD_ALIASES = {"section": "national_target", "column": "national_target"}

    def service_data(self) -> dict:
        data = {name: field.data for name, field in self._fields.items()
                if name not in ("csrf_token", "shown_status", "national_target")}
        section, _sep, column = (self.national_target.data or "").partition("/")
        data["section"], data["column"] = section, column
        return data

    def add_errors(self, errors: dict) -> None:
        for name, message in errors.items():
            field = self._fields.get(self.FIELD_ALIASES.get(name, name))
            if field is not None:
                field.errors = list(field.errors) + [message]


def metadata_form_for(resource) -> MetadataForm:
    """The form filled with the resource's values (or what the user just posted) and the district's vocabularies."""
    data = {name: getattr(resource, name) for name in (
        "title", "description", "kind", "chapter", "copyright_holder", "presenters", "keywords", "type_code",
        "source", "licence", "catalogue_xml", "link_url")}
    for name in ("form_id", "stage_id", "subject_id", "grade_id", "edition_id", "category_id"):
        value = getattr(resource, name)
        data[name] = str(value) if value else ""
    data["created_on"] = resource.created_on.isoformat() if resource.created_on else ""
    data["national_target"] = f"{resource.section}/{resource.column}" if resource.section else ""
    data["shown_status"] = resource.status
    form = MetadataForm(data=data)
    form.kind.choices = _none_first(KINDS.items())
    form.source.choices = _none_first(SOURCES.items())
    form.licence.choices = _none_first(LICENCES.items())
    form.type_code.choices = _none_first((code, f"{code} {label}") for code, label in TYPE_CODES.items())
    for name, vocabulary in (("form_id", "form"), ("stage_id", "stage"), ("subject_id", "subject"),
                             ("grade_id", "grade"), ("edition_id", "edition"), ("category_id", "category")):
        form[name].choices = _none_first(vocabularies.choices(vocabulary))
    form.national_target.choices = _none_first(
        (f"{section}/{column}", f"{section} — {column}") for section, columns in SECTIONS for column in columns)
    if not resource.link_url:
        del form.link_url
    return form
