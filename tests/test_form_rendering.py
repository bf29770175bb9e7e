"""Form fields write their HTML attributes exactly as WTForms would, without its slow formatting."""
import pytest
from markupsafe import Markup
from wtforms import Form, SelectField, StringField, TextAreaField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import core

from reslib import form_rendering

ATTRIBUTE_SETS = [
    {"name": "username", "id": "username", "type": "text", "value": "", "required": True, "maxlength": 64},
    {"class_": "wide", "for_": "q", "data_suggest_url": "/search/suggest", "aria_describedby": "hint"},
    {"value": '"><script>alert(1)</script>', "title": "A & B 'quoted'", "checked": False, "disabled": True},
    {"value": Markup('<a href="#">链接</a>'), "placeholder": "搜索资源：标题、关键词或拼音"},
    {"value": 0, "min": -1, "step": 0.5, "selected": None},
]


@pytest.mark.parametrize("attributes", ATTRIBUTE_SETS)
def test_attributes_read_as_wtforms_writes_them(attributes):
    ours = form_rendering.html_params(**attributes)
    assert isinstance(ours, Markup)
    assert ours == form_rendering.wtforms_html_params(**attributes)


class SampleForm(Form):
    title = StringField("标题")
    summary = TextAreaField("简介")
    subject = SelectField("学科", choices=[SelectChoice("math", "数学"), SelectChoice("chinese", '语文 "部编"')])


def rendered(form) -> list[str]:
    return [str(field(class_="wide")) + str(field.label(class_="title")) for field in form]


def test_fields_render_as_they_would_with_wtforms_own_attributes(app, monkeypatch):
    assert core.html_params is widgets.html_params is form_rendering.html_params  # the app installed ours
    form = SampleForm(data={"title": '勾股定理 "微课" <1>', "summary": "a & b", "subject": "chinese"})
    ours = rendered(form)
    for module in (core, widgets):
        monkeypatch.setattr(module, "html_params", form_rendering.wtforms_html_params)
    for widget in (core.Input, core.Button):
        monkeypatch.setattr(widget, "html_params", staticmethod(form_rendering.wtforms_html_params))
    assert rendered(form) == ours
