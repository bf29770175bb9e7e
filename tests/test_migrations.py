"""Schema changes ship as migrations: a fresh database and an upgraded one match the models."""
import logging

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from reslib.extensions import db
from reslib.models import User
from reslib.search.postgres_backend import SEARCH_DOCUMENT
from reslib.testing import make_test_app, running


def test_migrations_build_exactly_the_models_schema(tmp_path):
    app = make_test_app(tmp_path)  # all plugins enabled: their branches are applied too
    with running(app):
        upgrade(revision="heads")
        with db.engine.connect() as connection:
            # On PostgreSQL the migrations also build the search backend's table (kept out of the models:
            # SQLite deployments search with Whoosh).
            postgresql = connection.dialect.name == "postgresql"
            metadata = [db.metadata, SEARCH_DOCUMENT.metadata] if postgresql else db.metadata
            diff = compare_metadata(MigrationContext.configure(connection), metadata)
        assert diff == [], f"models and migrations differ: {diff}"


def test_upgrade_keeps_existing_data(tmp_path):
    """A district on an older schema upgrades without losing accounts."""
    app = make_test_app(tmp_path, PLUGINS=[])
    with running(app):
        upgrade(revision="heads")
        db.session.execute(text("INSERT INTO unit (name) VALUES ('东城片区')"))
        db.session.execute(text("INSERT INTO school (name, unit_id, created_at) VALUES ('第一小学', 1, CURRENT_TIMESTAMP)"))
        db.session.execute(text(
            "INSERT INTO account (username, password_hash, real_name, school_id, status, must_change_password, "
            "failed_logins, created_at) VALUES ('old.user', 'x', '老用户', 1, 'active', false, 0, CURRENT_TIMESTAMP)"))
        db.session.commit()
    # The same database, now with the plugins enabled: their tables are added beside the old data.
    upgraded = make_test_app(tmp_path, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    with running(upgraded):
        upgrade(revision="heads")
        assert db.session.scalar(select(User.real_name).where(User.username == "old.user")) == "老用户"
        tables = set(inspect(db.engine).get_table_names())
        assert {"account", "points_entry", "awards_competition", "sync_provincial_quota"} <= tables


def test_core_downgrade_and_upgrade_round_trip(tmp_path):
    app = make_test_app(tmp_path, PLUGINS=[])
    with running(app):
        upgrade(revision="heads")
        downgrade(revision="base")
        assert "account" not in inspect(db.engine).get_table_names()
        upgrade(revision="heads")
        assert "account" in inspect(db.engine).get_table_names()


def test_migrating_leaves_the_apps_logging_on(tmp_path):
    app = make_test_app(tmp_path)
    with running(app):
        assert not app.logger.disabled  # the logger exists before migrating, as in any process that has logged
        upgrade(revision="heads")
        assert not app.logger.disabled
        assert not any(logger.disabled for logger in logging.root.manager.loggerDict.values()
                       if isinstance(logger, logging.Logger) and logger.name.startswith(("reslib", "plugins")))
