"""Flask extensions, created unbound and bound to each app in create_app()."""
from flask import current_app, request
from flask_babel import Babel
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from reslib.ratelimit import SignInLimiter


class Base(DeclarativeBase):
    # Stable constraint names so migrations can alter them on SQLite and PostgreSQL alike.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = SignInLimiter(key_func=get_remote_address)
babel = Babel()


@limiter.request_filter
def _reads_are_not_limited() -> bool:
    # Every limit guards a request that changes something (signing in, registering; see views.auth). A limit
    # on a read would be skipped here, and reads, most of all requests, skip the limiter's bookkeeping; a public
    # lookup that must not be enumerated (a certificate's number) opts in with ``ratelimit.limit_reads``.
    view = current_app.view_functions.get(request.endpoint)
    return request.method in ("GET", "HEAD", "OPTIONS") and not getattr(view, "limits_reads", False)
