"""The shared search cases against PostgresIndex on a real PostgreSQL: the server named by
RESLIB_TEST_DATABASE_URL, else a local one if it answers (skipped when none does). Each index
lives in a schema of its own, dropped afterwards, which the fixtures that reset the public schema
for other tests never touch."""
import os
import uuid
from contextlib import contextmanager

import pytest
from search_cases import CORPUS, SearchCases
from sqlalchemy import create_engine, exc, text

from reslib.search.postgres_backend import PostgresIndex

LOCAL_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def server_url():
    url = os.environ.get("RESLIB_TEST_DATABASE_URL")
    if url:
        return url
    try:
        engine = create_engine(LOCAL_URL)
        with engine.connect():
            pass
        engine.dispose()
    except (ImportError, exc.OperationalError):
        pytest.skip("no PostgreSQL: set RESLIB_TEST_DATABASE_URL")
    return LOCAL_URL


@contextmanager
def engine_in_own_schema(url):
    schema = f"search_test_{uuid.uuid4().hex}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(url, connect_args={"options": f"-c search_path={schema}"})
    try:
        PostgresIndex(engine).create_schema()
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture(scope="module")
def index(server_url):
    with engine_in_own_schema(server_url) as engine:
        search_index = PostgresIndex(engine)
        search_index.add_or_update(CORPUS)
        yield search_index
        search_index.close()


@pytest.fixture
def open_index(server_url):
    with engine_in_own_schema(server_url) as engine:
        opened = []

        def open_():
            opened.append(PostgresIndex(engine))
            return opened[-1]

        yield open_
        for search_index in opened:
            search_index.close()


class TestPostgres(SearchCases):
    pass


def test_positions_are_unit_positions_from_one(server_url):
    with engine_in_own_schema(server_url) as engine:
        PostgresIndex(engine).add_or_update([dict(id=1, title="数学 Python", keywords=["复习"], visible_to="public")])
        with engine.connect() as connection:
            title, content = connection.execute(text("SELECT title_tsv::text, content_tsv::text FROM search_document")).one()
    assert set(title.split()) == {"'数':1", "'数学':1", "'学':2", "'python':3"}
    # The keywords start two positions after the title's last token: no phrase spans both.
    assert set(content.split()) == {"'数':1", "'数学':1", "'学':2", "'python':3", "'复':5", "'复习':5", "'习':6"}
