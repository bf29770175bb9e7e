"""Signing in at the bell: argon2id hashes and their upgrade, school-sized limits, a limiter that fails open.

The limits counted across gunicorn's workers, under a rush of threads, are in tests/test_real_processes.py.
"""
import logging
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher, Type
from werkzeug.security import generate_password_hash

from reslib import config
from reslib.extensions import db
from reslib.models.base import utcnow
from reslib.ratelimit import SQLiteStorage
from reslib.services import accounts
from reslib.testing import PASSWORD, District, csrf_token, login, make_test_app, post_form, running

# reslib/config.py's hashing, which tests otherwise replace with the cheapest argon2id (reslib.testing)
PRODUCTION_HASHING = {name: getattr(config, name) for name in
                      ("PASSWORD_ARGON2_MEMORY_KIB", "PASSWORD_ARGON2_TIME_COST", "PASSWORD_ARGON2_PARALLELISM")}
OWASP_ARGON2ID = "$argon2id$v=19$m=19456,t=2,p=1$"
TEST_ARGON2ID = "$argon2id$v=19$m=8,t=1,p=1$"
WRONG = "Wrong#Pass99"


def attempt(client, username, password=WRONG, address="127.0.0.1"):
    return client.post("/login", data={"csrf_token": csrf_token(client), "username": username, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def stored_hash(user) -> str:
    db.session.refresh(user)
    return user.password_hash


# --- argon2id -----------------------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [PRODUCTION_HASHING])
def test_every_new_password_is_hashed_with_argon2id_at_owasp_parameters(district):
    legacy = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    district.teacher_a.password_hash = district.student_a.password_hash = legacy
    db.session.commit()

    registered = accounts.register(username="li.ming", password=PASSWORD, real_name="李明", role="student",
                                   school_id=district.school_a.id, identifier="S1500")
    created = accounts.create_user(username="wang.fang", password=PASSWORD, real_name="王芳", roles=["teacher"],
                                   school_name=district.school_a.name)
    accounts.change_password(district.teacher_a, PASSWORD, "New#Lesson2026")
    accounts.reset_password(district.admin_a, district.student_a)
    for user in (registered, created, district.teacher_a, district.student_a):
        assert stored_hash(user).startswith(OWASP_ARGON2ID), user.username


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256:1000"])
def test_a_werkzeug_hash_becomes_argon2id_at_the_next_successful_sign_in_and_no_other(client, district, method):
    legacy = generate_password_hash(PASSWORD, method=method)  # "scrypt" is werkzeug's default, scrypt:32768:8:1
    district.teacher_a.password_hash = legacy
    db.session.commit()

    assert attempt(client, "teacher.a").status_code == 401
    assert stored_hash(district.teacher_a) == legacy  # a failed attempt changes nothing
    district.teacher_a.status = "disabled"
    db.session.commit()
    assert attempt(client, "teacher.a", PASSWORD).status_code == 403
    assert stored_hash(district.teacher_a) == legacy  # nor does a refused one, though the password was right
    district.teacher_a.status = "active"
    db.session.commit()
    login(client, "teacher.a")
    upgraded = stored_hash(district.teacher_a)
    assert upgraded.startswith(TEST_ARGON2ID)
    post_form(client, "/logout")
    login(client, "teacher.a")  # the same password, now checked against argon2id
    assert stored_hash(district.teacher_a) == upgraded  # up to date: not hashed again


@pytest.mark.parametrize("outdated", [
    PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),  # before the district raised memory and passes
    PasswordHasher(time_cost=2, memory_cost=16, parallelism=1, type=Type.I),  # argon2i, not argon2id
], ids=["weaker-parameters", "argon2i"])
@pytest.mark.parametrize("app_config", [{"PASSWORD_ARGON2_MEMORY_KIB": 16, "PASSWORD_ARGON2_TIME_COST": 2}])
def test_an_argon2_hash_with_outdated_parameters_is_rehashed_at_sign_in(client, district, outdated):
    district.teacher_a.password_hash = outdated.hash(PASSWORD)
    db.session.commit()
    login(client, "teacher.a")
    assert stored_hash(district.teacher_a).startswith("$argon2id$v=19$m=16,t=2,p=1$")


@pytest.mark.parametrize("app_config", [PRODUCTION_HASHING])
def test_unknown_and_locked_accounts_take_as_long_as_a_wrong_password(client, district):
    district.student_a.locked_until = utcnow() + timedelta(minutes=15)
    db.session.commit()

    def cpu_seconds(username) -> float:
        """The least CPU one attempt took, of three: what an attacker timing the answers would see."""
        spent = []
        for _ in range(3):
            start = time.process_time()
            assert attempt(client, username).status_code == 401
            spent.append(time.process_time() - start)
        return min(spent)

    wrong_password = cpu_seconds("teacher.a")
    assert cpu_seconds("nobody") > wrong_password / 2
    assert cpu_seconds("student.a") > wrong_password / 2  # locked: the lockout must not be told apart either


# --- sign-in limits -------------------------------------------------------------------------------

@pytest.mark.parametrize("networks", [["10.20.0.0/16", "fd00:20::/32"], "10.20.0.0/16, fd00:20::/32"],
                         ids=["list", "environment-string"])
def test_addresses_in_school_networks_get_the_school_limit_and_others_the_tighter_one(tmp_path, networks):
    app = make_test_app(tmp_path, SCHOOL_NETWORKS=networks, LOGIN_RATE_LIMIT_PER_SCHOOL_ADDRESS="6 per minute",
                        LOGIN_RATE_LIMIT_PER_ADDRESS="3 per minute")
    with running(app):
        db.create_all()
        client = app.test_client()

        def answers(address, count):
            return [attempt(client, f"pupil{address}-{i}", address=address).status_code for i in range(count)]

        assert answers("10.20.3.4", 7) == [401] * 6 + [429]  # a school
        assert answers("::ffff:10.20.3.5", 7) == [401] * 6 + [429]  # the same school through a dual-stack socket
        assert answers("fd00:20::1", 7) == [401] * 6 + [429]
        assert answers("10.21.0.1", 4) == [401] * 3 + [429]  # private, but not one of this district's schools
        assert answers("203.0.113.9", 4) == [401] * 3 + [429]


def test_the_default_storage_counts_exactly_across_threads_and_workers(tmp_path):
    uri = f"reslib+sqlite://{tmp_path / 'ratelimit.db'}"
    workers = [SQLiteStorage(uri), SQLiteStorage(uri)]  # as two gunicorn workers open the one file
    admitted, start = [], threading.Barrier(16)

    def thread(storage):
        start.wait()
        for _ in range(10):
            admitted.append(storage.acquire_entry("login:target", 37, 60))

    threads = [threading.Thread(target=thread, args=(workers[i % 2],)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert admitted.count(True) == 37
    assert workers[1].get_moving_window("login:target", 37, 60)[1] == 37


def test_an_attempt_leaves_the_count_when_its_window_has_passed(tmp_path):
    storage = SQLiteStorage(f"reslib+sqlite://{tmp_path / 'ratelimit.db'}")
    assert [storage.acquire_entry("login:x", 2, 1) for _ in range(3)] == [True, True, False]
    time.sleep(1.1)
    assert storage.acquire_entry("login:x", 2, 1)
    assert storage.get_moving_window("login:x", 2, 1)[1] == 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again on leaving: nothing listens there


@pytest.mark.parametrize("failure", ["redis-down", "sqlite-damaged"])
def test_a_failing_limiter_is_logged_and_a_correct_password_still_signs_in(tmp_path, caplog, failure):
    storage = f"redis://127.0.0.1:{closed_port()}/0" if failure == "redis-down" else None
    app = make_test_app(tmp_path, RATELIMIT_STORAGE_URI=storage)
    with running(app):
        db.create_all()
        District()
        if failure == "sqlite-damaged":  # the file replaced by something that is not a database
            Path(app.config["RATELIMIT_STORAGE_URI"].removeprefix("reslib+sqlite://")).write_bytes(b"junk" * 1024)
        with caplog.at_level(logging.ERROR):
            response = attempt(app.test_client(), "teacher.a", PASSWORD)
        assert response.status_code == 302 and response.headers["Location"] == "/dashboard"
        assert any(record.name == "flask-limiter" and record.exc_info for record in caplog.records)
