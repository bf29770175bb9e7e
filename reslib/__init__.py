"""reslib: a district teaching-resource library. ``create_app()`` builds one district's app."""
import os
import secrets
import sqlite3
import time
from pathlib import Path

from flask import Flask, redirect, request, session, url_for
from flask_login import current_user, logout_user
from pluggy import HookimplMarker
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

hookimpl = HookimplMarker("reslib")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_app(test_config=None) -> Flask:
    # RESLIB_INSTANCE_PATH lets one install serve several districts, tests and benches side by side.
    instance_path = (test_config or {}).get("INSTANCE_PATH") or os.environ.get("RESLIB_INSTANCE_PATH")
    app = Flask(__name__, instance_relative_config=True, instance_path=instance_path)
    from reslib.views import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added: plugins' routes get it too
    app.config.from_object("reslib.config")
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("RESLIB")
    if test_config:
        app.config.from_mapping(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _fill_secrets(app)
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", app.config["DATABASE_URL"] or _sqlite_url(app))
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The driver's busy timeout: a writer queues for the lock instead of failing at once.
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
            "connect_args": {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000},
        })

    from reslib.plugins import build_plugin_manager

    pm = build_plugin_manager(app.config)
    app.extensions["reslib.plugins"] = pm
    for defaults in pm.hook.config_defaults():
        for key, value in (defaults or {}).items():
            app.config.setdefault(key, value)

    if app.config["PROXY_FIX"]:
        n = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    _init_extensions(app)
    _register_blueprints(app)
    pm.hook.register_blueprints(app=app)

    from reslib import jobs

    jobs.init_app(app)
    _install_request_guards(app)

    from reslib import assets, cli, errors_views, templating

    errors_views.init_app(app)
    templating.init_app(app)
    assets.init_app(app)
    cli.init_app(app)
    return app


def _fill_secrets(app: Flask) -> None:
    """Keys not configured are generated once into instance/, so restarts keep sessions and hashes valid."""
    for key, filename in (("SECRET_KEY", "secret_key"), ("ID_NUMBER_KEY", "id_number_key")):
        if app.config.get(key):
            continue
        path = Path(app.instance_path) / filename
        if not path.exists():
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        app.config[key] = path.read_text().strip()


def _sqlite_url(app: Flask) -> str:
    return "sqlite:///" + str(Path(app.instance_path) / "reslib.db")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    # WAL lets readers run beside the one writer; foreign keys are off in SQLite unless asked for.
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _init_extensions(app: Flask) -> None:
    from reslib.extensions import babel, csrf, db, limiter, login_manager, migrate
    from reslib.services.accounts import load_session_user
    from reslib.templating import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None  # the login page itself says why
    login_manager.user_loader(load_session_user)

    @migrate.configure
    def _plugin_migrations(config):
        # Each enabled plugin keeps its own branch of migrations beside its code.
        locations = [str(MIGRATIONS_DIR / "versions")]
        for name, plugin in app.extensions["reslib.plugins"].list_name_plugin():
            folder = Path(getattr(plugin, "__file__", "") or "").parent / "migrations"
            if folder.is_dir():
                locations.append(str(folder))
        config.set_main_option("path_separator", "os")
        config.set_main_option("version_locations", os.pathsep.join(locations))
        return config


def _register_blueprints(app: Flask) -> None:
    from reslib.views import admin, api, auth, library, main, review, search, upload

    for blueprint in (auth.bp, main.bp, admin.bp, api.bp, library.bp, upload.bp, review.bp, search.bp):
        app.register_blueprint(blueprint)


def _install_request_guards(app: Flask) -> None:
    from reslib.services.accounts import end_session
    from reslib.views import fresh_session

    @app.before_request
    def _idle_timeout_and_forced_password_change():
        if not current_user.is_authenticated:
            return None
        now = int(time.time())
        seen = session.get("seen", now)
        if now - seen > app.config["IDLE_TIMEOUT_MINUTES"] * 60:
            end_session(current_user)
            logout_user()
            fresh_session()
            return redirect(url_for("auth.login", timeout=1, next=request.full_path if request.method == "GET" else None))
        if now - seen > 60:  # refresh at most once a minute, so most responses set no cookie
            session["seen"] = now
        if current_user.must_change_password and request.endpoint not in (
            "auth.change_password", "auth.logout", "static",
        ):
            return redirect(url_for("auth.change_password"))
        return None

    @app.after_request
    def _security_headers(response):
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; object-src 'none'; "
            "frame-ancestors 'self'; base-uri 'self'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        return response
