"""Messages made where no one reads them (the worker's findings and failures, stored) and shown later in the
reader's language: the catalogue's message is kept apart from its values, and translated where it is shown."""
from flask import current_app, g
from flask_babel import force_locale, get_translations, gettext


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue (Babel's gettext_noop keyword) without translating it."""
    return message


def translations():
    """The reader's catalogue, kept for the request: Flask-Babel looks it up on every call, and a page makes dozens."""
    catalogue = g.get("translations")
    if catalogue is None:
        catalogue = g.translations = get_translations()
    return catalogue


def translated(message: str, values=()) -> str:
    """``message`` (as in the catalogue) in the reader's language, with ``values`` (a dict or (name, value) pairs).
    A value that is itself a word of the catalogue (未知, 立体声) is translated too; any other text is not in it,
    and stays as it is."""
    values = {name: gettext(value) if isinstance(value, str) and value else value for name, value in dict(values).items()}
    return gettext(message, **values)


def in_district_language():
    """Context for text written into the records (audit details, the review history): in the district's language,
    whichever language the person acting reads. A record then reads the same to everyone who opens it later, and
    a Chinese teacher never finds an English note because an admin happened to work in English."""
    return force_locale(current_app.config["BABEL_DEFAULT_LOCALE"])
