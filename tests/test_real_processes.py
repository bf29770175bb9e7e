"""Sign-in and crashes in the processes production runs: gunicorn's threaded web workers and `reslib worker`.

Each test serves the test district with `gunicorn wsgi:app` started from the repository, so gunicorn reads
gunicorn.conf.py as in production, on 127.0.0.1 and a free port.
"""
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis

from reslib.extensions import db
from reslib.models import User
from reslib.testing import PASSWORD

BIN = Path(sys.executable).parent
REPO_ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT = 60  # seconds for every worker to be serving


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(app, **settings) -> dict:
    """The served app's environment: the test's database and instance folder, the fixture's keys and hashing."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("RESLIB_")}
    env.update(RESLIB_INSTANCE_PATH=app.instance_path, RESLIB_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               RESLIB_PLUGINS="[]", PYTHONUNBUFFERED="1")
    for name in ("SECRET_KEY", "ID_NUMBER_KEY", "PASSWORD_ARGON2_MEMORY_KIB", "PASSWORD_ARGON2_TIME_COST"):
        env[f"RESLIB_{name}"] = str(app.config[name])  # one key for every worker, or sessions differ between them
    env.update({f"RESLIB_{name}": value for name, value in settings.items()})
    return env


class Served:
    def __init__(self, process, port, log_dir):
        self.process, self.port, self.log_dir = process, port, log_dir

    def access_log(self) -> list[tuple[int, str]]:
        """(worker pid, request method) of every request answered so far."""
        entries = re.findall(r"^<(\d+)> (\w+)$", (self.log_dir / "stdout").read_text(), re.M)
        return [(int(pid), method) for pid, method in entries]

    def error_log(self) -> str:
        return (self.log_dir / "stderr").read_text(errors="replace")

    def get(self, path: str) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()

    def sign_in(self, username: str, password: str) -> int:
        """Open the form and send it, as a browser does, on a connection of its own; the POST's status."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", "/login")
            form = conn.getresponse()
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.read().decode()).group(1)
            cookie = form.headers["Set-Cookie"].split(";")[0]
            body = urlencode({"csrf_token": token, "username": username, "password": password})
            headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
            conn.request("POST", "/login", body, headers)
            response = conn.getresponse()
            response.read()
            return response.status
        finally:
            conn.close()


@contextmanager
def gunicorn(app, tmp_path, *, workers: int, **settings):
    """`gunicorn wsgi:app` with threaded workers, each on a socket of its own (reuse_port) so that the kernel
    spreads connections across them; yields once every worker has answered a request."""
    port = free_port()
    cmd = [str(BIN / "gunicorn"), "--workers", str(workers), "--worker-class", "gthread", "--threads", "8",
           "--bind", f"127.0.0.1:{port}", "--reuse-port", "--no-control-socket",
           "--access-logfile", "-", "--access-logformat", "%(p)s %(m)s", "wsgi:app"]
    log_dir = tmp_path / "gunicorn"
    log_dir.mkdir()
    with open(log_dir / "stdout", "wb") as out, open(log_dir / "stderr", "wb") as err:
        process = subprocess.Popen(cmd, cwd=REPO_ROOT, env=environment(app, **settings), stdout=out, stderr=err,
                                   start_new_session=True)
    served = Served(process, port, log_dir)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while len({pid for pid, _method in served.access_log()}) < workers:
            assert process.poll() is None and time.monotonic() < deadline, served.error_log()[-3000:]
            try:
                served.get("/healthz")
            except OSError:
                time.sleep(0.1)  # not listening yet
        yield served
    finally:
        stop(process)


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)  # gunicorn's quick shutdown: nothing is worth finishing
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def redis_storage() -> str:
    """The Redis the tests count in; CI must have one, as it must have PostgreSQL (QUALITY.md)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.ConnectionError:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false"):
            pytest.fail(f"no Redis at {REDIS_URL}: apt-get install redis-server", pytrace=False)
        pytest.skip(f"no Redis at {REDIS_URL}")
    return REDIS_URL


def pupils(district, count: int) -> list[str]:
    names = [f"s{n:04d}" for n in range(count)]
    db.session.add_all(User(username=name, password_hash=district.password_hash, real_name="测试学生",
                            school_id=district.school_a.id, identifier=name.upper(), status="active") for name in names)
    db.session.commit()
    return names


# --- sign-in under threaded workers ----------------------------------------------------------------

@pytest.mark.parametrize("storage", ["default", "redis-down"])
def test_a_school_rushing_to_sign_in_through_threaded_workers_is_never_refused(app, district, tmp_path, storage):
    # 150 pupils of one school behind one address (127.0.0.1, listed as a school network), 16 at a time:
    # more than any address but a school's may try in a minute.
    names = pupils(district, 150)
    settings = {"SCHOOL_NETWORKS": '["127.0.0.0/8"]'}
    if storage == "redis-down":  # every count fails: the sign-ins must go on regardless
        settings["RATELIMIT_STORAGE_URI"] = f"redis://127.0.0.1:{free_port()}/0"
    with gunicorn(app, tmp_path, workers=3, **settings) as served:
        with ThreadPoolExecutor(16) as pool:
            answers = Counter(pool.map(lambda name: served.sign_in(name, PASSWORD), names))
        assert answers == {302: len(names)}, served.error_log()[-3000:]
        if storage == "redis-down":
            assert "Failed to rate limit" in served.error_log()  # logged, not answered with a 500


@pytest.mark.parametrize("storage", ["default", "redis"])
def test_the_per_account_limit_is_counted_once_across_workers(app, district, tmp_path, storage):
    settings = {"LOGIN_RATE_LIMIT_PER_ACCOUNT": "5 per minute"}
    if storage == "redis":
        settings["RATELIMIT_STORAGE_URI"] = redis_storage()
    target = f"guess-{uuid.uuid4().hex[:8]}"  # its own key, whatever else the Redis holds
    with gunicorn(app, tmp_path, workers=2, **settings) as served:
        answers = [served.sign_in(target, "Wrong#Pass99") for _ in range(16)]  # a new connection each
        assert len({pid for pid, method in served.access_log() if method == "POST"}) == 2  # both workers took some
        assert answers == [401] * 5 + [429] * 11


# --- crashes leave a traceback -------------------------------------------------------------------------

def wait_for(condition, timeout=30, interval=0.1):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(interval)


def test_a_web_worker_that_crashes_leaves_a_python_traceback_in_the_log(app, tmp_path):
    with gunicorn(app, tmp_path, workers=1) as served:
        worker = served.access_log()[0][0]
        os.kill(worker, signal.SIGSEGV)
        wait_for(lambda: f"Worker (pid:{worker}) was sent SIGSEGV" in served.error_log())
        log = served.error_log()
    trace = r'Fatal Python error: Segmentation fault.*most recent call first.*File ".*gunicorn'
    assert re.search(trace, log, re.S), log


def test_the_queue_worker_that_crashes_leaves_a_python_traceback_in_the_log(app, tmp_path):
    with open(tmp_path / "stdout", "wb") as out, open(tmp_path / "stderr", "wb") as err:
        worker = subprocess.Popen([str(BIN / "reslib"), "worker"], env=environment(app), stdout=out, stderr=err,
                                  start_new_session=True)
    try:
        wait_for(lambda: "后台任务进程已启动" in (tmp_path / "stdout").read_text())
        worker.send_signal(signal.SIGSEGV)
        assert worker.wait(timeout=30) == -signal.SIGSEGV
    finally:
        if worker.poll() is None:
            stop(worker)
    log = (tmp_path / "stderr").read_text()
    assert re.search(r'Fatal Python error: Segmentation fault.*most recent call first.*File "', log, re.S), log
