"""Shared pytest fixtures (registered as a pytest plugin through the ``pytest11`` entry point).

Tests run on SQLite by default and on PostgreSQL when RESLIB_TEST_DATABASE_URL names one.
"""
import contextvars
import os
import re
import threading
from contextlib import contextmanager
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text

from reslib import create_app
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import Resource, School, Unit, User
from reslib.models.base import utcnow
from reslib.models.library import VISIBLE_STATUSES

PASSWORD = "Lesson#Plan42"
ALL_PLUGINS = ["points", "awards", "sync_provincial"]


def database_url(tmp_path) -> str:
    url = os.environ.get("RESLIB_TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path / 'test.db'}"
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:  # every test starts from an empty schema
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own ``g`` and DB session,
    never the test's (which the ``app`` fixture keeps open for convenience)."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_test_app(tmp_path, **overrides):
    config = {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        # argon2id at its least (8 KiB, one pass): microseconds a check, where production's take 20-40 ms
        "PASSWORD_ARGON2_MEMORY_KIB": 8,
        "PASSWORD_ARGON2_TIME_COST": 1,
        "LOGIN_RATE_LIMIT_PER_ADDRESS": "1000 per minute",
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": "1000 per minute",
        "PLUGINS": ALL_PLUGINS,
        "SECRET_KEY": "test-secret",
        "ID_NUMBER_KEY": "test-id-key",
    }
    config.update(overrides)
    if "SQLALCHEMY_DATABASE_URI" not in config:  # a test that names its database keeps what is in it
        config["SQLALCHEMY_DATABASE_URI"] = database_url(tmp_path)
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


@pytest.fixture
def app_config():
    """Override in a test module to change settings, e.g. ``{"PLUGINS": []}``."""
    return {}


@contextmanager
def recorded_statements():
    """The SQL statements the app's engine runs inside the block, in order."""
    statements = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@contextmanager
def running(app):
    """The app's context for a test; on the way out every connection is closed, in an order that leaks none."""
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()  # returns the session's connection to the pool ...
            db.engine.dispose()  # ... so that closing the pool closes it


@pytest.fixture
def app(tmp_path, app_config):
    with running(make_test_app(tmp_path, **app_config)) as app:
        db.create_all()
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class District:
    """A small district: two units, three schools, one account per role and school."""

    def __init__(self):
        from reslib.services.accounts import hash_password

        self.password_hash = hash_password(PASSWORD)
        east, west = Unit(name="东城片区"), Unit(name="西城片区")
        self.school_a = School(name="第一实验小学", code="A01", unit=east)
        self.school_b = School(name="育才中学", code="B01", unit=east)
        self.school_c = School(name="光明小学", code="C01", unit=west)
        db.session.add_all([self.school_a, self.school_b, self.school_c])
        db.session.flush()
        self.district_admin = self.user("admin", {"district_admin"}, None, real_name="王建国")
        self.reviewer = self.user("reviewer", {"reviewer", "teacher"}, self.school_b, identifier="T9001")
        self.admin_a = self.user("admin.a", {"school_admin", "teacher"}, self.school_a, identifier="T1000")
        self.admin_b = self.user("admin.b", {"school_admin", "teacher"}, self.school_b, identifier="T2000")
        self.teacher_a = self.user("teacher.a", {"teacher"}, self.school_a, identifier="T1001")
        self.student_a = self.user("student.a", {"student"}, self.school_a, identifier="S1001")
        self.teacher_b = self.user("teacher.b", {"teacher"}, self.school_b, identifier="T2001")
        self.student_b = self.user("student.b", {"student"}, self.school_b, identifier="S2001")
        self.pending_a = self.user("pending.a", {"student"}, self.school_a, identifier="S1999", status="pending")
        self.pending_b = self.user("pending.b", {"student"}, self.school_b, identifier="S2999", status="pending")
        db.session.commit()
        from reslib.services import vocabularies

        vocabularies.install_defaults()

    def user(self, username, roles, school, *, identifier=None, status="active", real_name=None) -> User:
        user = User(username=username, password_hash=self.password_hash, real_name=real_name or "测试" + "甲乙丙丁戊己庚辛壬癸"[len(username) % 10],
                    school_id=school.id if school else None, identifier=identifier, status=status)
        user.set_roles(roles)
        db.session.add(user)
        db.session.flush()
        return user


@pytest.fixture
def district(app):
    return District()


def csrf_token(client, path="/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username, password=PASSWORD):
    response = client.post("/login", data={"csrf_token": csrf_token(client), "username": username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


def post_form(client, path, data=None, *, token_page="/dashboard"):
    """POST like a browser would: with the CSRF token of a page the user has open."""
    return client.post(path, data={"csrf_token": csrf_token(client, token_page), **(data or {})})


# The smallest well-formed one-page PDF: a file every test can store without making media.
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def add_resource(owner: User, *, status="published", title="勾股定理微课", content: bytes = MINIMAL_PDF, **fields) -> Resource:
    """A resource in any state, with a real stored file (a PDF unless ``content`` and the file fields say otherwise)."""
    from reslib.services import library

    values = dict(
        owner_id=owner.id, school_id=owner.school_id, status=status, title=title, kind="teacher",
        description="用拼图证明勾股定理。", copyright_holder="东昌区教育局", keywords="勾股定理;数学",
        file_sha256=library.store().put_bytes(content), file_name=f"{title}.pdf", file_size=len(content),
        file_kind="pdf", file_mime="application/pdf", inline_safe=True, processing="done",
        published_at=utcnow() if status in VISIBLE_STATUSES else None,
    )
    values.update(fields)
    resource = Resource(**values)
    db.session.add(resource)
    db.session.flush()
    resource.lineage_id = resource.lineage_id or resource.id
    db.session.commit()
    return resource


# --- review: resources ready for it, and steps taken at once --------------------------------------

def ready_resource(owner, **fields) -> Resource:
    """A draft with every field the national metadata standard asks for."""
    from reslib.services import library, vocabularies

    complete = dict(
        status="draft", form_id=vocabularies.terms("form")[0].id, stage_id=vocabularies.terms("stage")[1].id,
        subject_id=vocabularies.terms("subject")[1].id, category_id=vocabularies.terms("category")[0].id,
        created_on=date(2024, 3, 1), source="school", licence="cc_by",
        cover_sha256=library.store().put_bytes(b"cover of " + fields.get("title", "勾股定理微课").encode()),
    )
    return add_resource(owner, **{**complete, **fields})


def second_reviewer(district):
    """A reviewer of school C, so a school A resource can have a panel of two."""
    user = district.user("reviewer.c", {"reviewer", "teacher"}, district.school_c, identifier="T3001")
    db.session.commit()
    return user


def to_district_review(district, resource):
    from reslib.services import review

    review.submit(district.teacher_a, resource)
    review.school_decision(district.admin_a, resource, "approve_and_recommend")


def at_once(app, steps: dict) -> dict:
    """Run each step (name → function of nothing) in a request of its own, in threads released together
    once every one has loaded what it needs; returns name → "taken", "refused" (a 409 conflict, such as
    StateChanged) or a result."""
    ready = threading.Barrier(len(steps))
    outcomes = {}

    def run(name, prepare):
        with app.app_context():  # a request of its own, as under a threaded server
            step = prepare()  # load what the step is checked against, as a view does
            ready.wait()  # nobody has written yet: every step passes its permission check
            try:
                outcomes[name] = step() or "taken"
            except ReslibError as exc:
                if exc.status != 409:
                    raise
                outcomes[name] = "refused"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=item) for item in steps.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes
