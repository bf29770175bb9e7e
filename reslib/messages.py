"""Messages made where no one reads them (the worker's findings and failures, stored) and shown later in the
reader's language: the catalogue's message is kept apart from its values, and translated where it is shown."""
from contextlib import contextmanager

from flask import current_app, g, has_app_context
from flask_babel import force_locale, get_translations, gettext


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue (Babel's gettext_noop keyword) without translating it."""
    return message


def translations():
    """The reader's catalogue, kept for the request: Flask-Babel looks it up on every call, and a page makes dozens."""
    if not has_app_context():  # a script's or a test's text: nothing to keep it for
        return get_translations()
    catalogue = g.get("translations")
    if catalogue is None:
        catalogue = g.translations = get_translations()
    return catalogue


def as_read(text: str) -> str:
    """``text`` in the reader's language when it is a word of the catalogue (未知, 立体声, a stock subject such as
    数学); any other text, a name the district typed itself, is not in it and stays as written."""
    return translations().ugettext(text) if text else text


def translated(message: str, values=()) -> str:
    """``message`` (as in the catalogue) in the reader's language, with ``values`` (a dict or (name, value) pairs),
    each read with ``as_read``."""
    values = {name: as_read(value) if isinstance(value, str) else value for name, value in dict(values).items()}
    return gettext(message, **values)


@contextmanager
def in_district_language():
    """Context for text written into the records (audit details, the review history): in the district's language,
    whichever language the person acting reads. A record then reads the same to everyone who opens it later, and
    a Chinese teacher never finds an English note because an admin happened to work in English."""
    readers = g.pop("translations", None)  # the request's kept catalogue is the reader's: not for the block
    try:
        with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
            yield
    finally:
        g.pop("translations", None)  # the district's, if the block kept it
        if readers is not None:
            g.translations = readers
