"""Messages made where no one reads them (the worker's findings and failures, stored) and shown later in the
reader's language: the catalogue's message is kept apart from its values, and translated where it is shown."""
from flask_babel import gettext


def N_(message: str) -> str:
    """Marks ``message`` for the catalogue (Babel's gettext_noop keyword) without translating it."""
    return message


def translated(message: str, values=()) -> str:
    """``message`` (as in the catalogue) in the reader's language, with ``values`` (a dict or (name, value) pairs).
    A value that is itself a word of the catalogue (未知, 立体声) is translated too; any other text is not in it,
    and stays as it is."""
    values = {name: gettext(value) if isinstance(value, str) and value else value for name, value in dict(values).items()}
    return gettext(message, **values)
