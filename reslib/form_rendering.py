"""Form fields render their HTML attributes without ``Markup.format``.

WTForms 3.3 writes every attribute of every input and ``<option>`` through ``Markup.format``, whose
``string.Formatter`` made attribute writing a fifth of the registration page (5.0 ms → 4.0 ms without it,
measured in-process) and a tenth of the login page. :func:`html_params` writes the same attributes, escaped
the same way, and :func:`install` makes WTForms' widgets use it.
"""
from markupsafe import Markup, escape
from wtforms import widgets
from wtforms.widgets import core

wtforms_html_params = core.html_params  # kept so a test can hold ours to WTForms' own output


def html_params(**kwargs) -> Markup:
    """``key="value"`` pairs sorted by key; ``True`` writes the bare key, ``False`` nothing (as WTForms)."""
    attributes = []
    for key, value in sorted(kwargs.items()):
        key = escape(core.clean_key(key))
        if value is True:
            attributes.append(key)
        elif value is not False:
            # escape() leaves markup as it is; a quote inside it must not end the attribute.
            value = str(escape(value)).replace('"', "&quot;")
            attributes.append(f'{key}="{value}"')
    return Markup(" ".join(attributes))


def install() -> None:
    # Inputs and buttons call it as a method; textareas, selects and options as the module's function;
    # labels as the package's.
    core.html_params = widgets.html_params = html_params
    core.Input.html_params = core.Button.html_params = staticmethod(html_params)
