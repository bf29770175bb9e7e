"""Page throughput: reslib's login and dashboard pages against a bare Flask hello-world, both under gunicorn,
with QUALITY.md's reference page measured the same way beside them."""
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

from bench import reference
from bench.common import (REPO_ROOT, WARMUP_SECONDS, BenchError, Figure, LoadResult, gunicorn, measure_rate,
                          request)

TARGET = 0.25  # each page should serve at least a quarter of hello-world's rate
TEACHER = {"username": "dc01.t1", "password": "Dongchang#2026"}  # an account `reslib demo` creates
CLI_TIMEOUT = 600  # seconds for each `reslib` setup command


ROUNDS = 3  # a page and hello-world take turns this many times; the page's figure is its median round


@dataclass
class Page:
    """A page measured against hello-world: its figure's name, the request, and the target ratio."""
    name: str
    path: str
    headers: dict = field(default_factory=dict)
    target: float = TARGET
    warmup_seconds: int = WARMUP_SECONDS  # before its first round; later rounds find the server warm
    port: int | None = None  # the server answering it, when not reslib's


def figures() -> list[Figure]:
    with reslib_instance() as env:  # set up first: it is what most often breaks
        with gunicorn("wsgi:app", env=env) as port, reference_server() as reference_port:
            session_cookie = log_in(port)
            return against_hello(port, [
                Page("GET /login (anonymous)", "/login"),
                Page("GET /dashboard (teacher)", "/dashboard", {"Cookie": session_cookie}),
                # The signed-in floor (QUALITY.md): session, account, layout and navigation, nothing else; the
                # base of the signed-in pages' own figures (bench/points.py measures its own), so reported, not judged.
                Page("GET /password (teacher): the signed-in floor", "/password", {"Cookie": session_cookie},
                     target=0),
                # Reported, not judged: it shows where the targets above sit on this machine today.
                Page("reference: 20 rows, no layout or sign-in (QUALITY.md)", "/", target=0, port=reference_port),
            ])


@contextmanager
def reference_server():
    """QUALITY.md's reference page under gunicorn, on a database filled beforehand; yields its port."""
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as folder:
        database = str(Path(folder, "reference.db"))
        reference.create_database(database)
        with gunicorn("bench.reference:app", env={**os.environ, reference.DATABASE_VARIABLE: database}) as port:
            yield port


def against_hello(port: int, pages: list[Page]) -> list[Figure]:
    """Each page's rate (on ``port`` unless it names its own) against a bare Flask hello-world served beside it.

    This machine's speed drifts within a run, by a fifth and more within a minute. So the two servers run
    side by side and take turns: hello-world, every page, hello-world again, ROUNDS times. A round's baseline
    is the faster hello-world on either side of it, so a slow moment never flatters a ratio, and a page's
    figure is its median round, so no single moment decides it. Errors in any round fail the figure.
    """
    with gunicorn("bench.hello:app") as hello_port:
        hellos = [hello(hello_port)]
        rounds: dict[str, list[LoadResult]] = {page.name: [] for page in pages}
        for number in range(ROUNDS):
            for page in pages:
                warmup = page.warmup_seconds if number == 0 else WARMUP_SECONDS
                rounds[page.name].append(measure_rate(page.port or port, page.path, page.headers, warmup))
            hellos.append(hello(hello_port))
    # Round n lies between hellos[n] and hellos[n + 1].
    baselines = [max(before, after, key=lambda run: run.rate) for before, after in zip(hellos, hellos[1:])]
    figures = []
    for page in pages:
        results = rounds[page.name]
        by_ratio = sorted((against(baseline, page.name, result, page.target)
                           for baseline, result in zip(baselines, results)), key=lambda figure: figure.ratio)
        median = by_ratio[ROUNDS // 2]
        errors = sum(result.errors for result in results)
        figures.append(replace(median, errors=errors, passed=median.passed and errors == 0))
    return figures


def hello(port: int) -> LoadResult:
    result = measure_rate(port, "/")
    if result.errors:
        raise BenchError(f"hello-world failed {result.errors} requests under load; the baseline is unusable")
    return result


def against(hello: LoadResult, name: str, page: LoadResult, target: float = TARGET) -> Figure:
    ratio = page.rate / hello.rate
    return Figure(
        name=name,
        value=round(page.rate, 1),
        baseline=round(hello.rate, 1),
        ratio=round(ratio, 3),
        unit="req/s",
        corpus_size=None,
        target=target,
        # A page that fails requests under load has not met its target, however fast it fails.
        passed=ratio >= target and page.errors == 0,
        tool=page.tool,
        errors=page.errors,
    )


@contextmanager
def reslib_instance():
    """A throwaway instance directory holding the demo district; yields the environment selecting it."""
    cli = Path(sys.executable).parent / "reslib"
    if not cli.exists():
        raise BenchError(f"{cli} not found: install reslib into this environment first (make setup)")
    instance = tempfile.mkdtemp(prefix="reslib-bench-")
    # Inherited RESLIB_* settings (a DATABASE_URL above all) must never point the bench at a real district.
    env = {name: value for name, value in os.environ.items() if not name.startswith("RESLIB_")}
    env["RESLIB_INSTANCE_PATH"] = instance
    env["RESLIB_PLUGINS"] = "points,awards,sync_provincial"  # as the demo district runs
    env["RESLIB_LOGIN_RATE_LIMIT_PER_ADDRESS"] = "100000 per minute"  # the load would otherwise be answered with 429s
    try:
        for command in (["init-db"], ["demo"]):
            run_cli([str(cli), *command], env)
        yield env
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def run_cli(cmd: list[str], env: dict, timeout: float = CLI_TIMEOUT) -> str:
    try:
        done = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{' '.join(cmd)} did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed with status {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


def log_in(port: int, account: dict = TEACHER) -> str:
    """Log a demo account in through the login form; returns the Cookie header of the session."""
    status, form_headers, body = request(port, "GET", "/login")
    if status != 200:
        raise BenchError(f"GET /login answered {status}, not 200")
    form = _CsrfTokenFinder()
    form.feed(body.decode())
    if form.token is None:
        raise BenchError("GET /login has no csrf_token field")
    status, headers, _ = request(
        port,
        "POST",
        "/login",
        body=urllib.parse.urlencode({"csrf_token": form.token, **account}),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": _cookie_header(form_headers)},
    )
    if status != 302:
        raise BenchError(f"logging in as {account['username']} answered {status}, not a 302 redirect")
    session = _cookies(headers).get("session")
    if session is None:
        raise BenchError("logging in set no session cookie")
    return f"session={session.value}"


class _CsrfTokenFinder(HTMLParser):
    token = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "csrf_token":
            self.token = attrs.get("value")


def _cookies(headers) -> SimpleCookie:
    cookies = SimpleCookie()
    for set_cookie in headers.get_all("Set-Cookie") or []:
        cookies.load(set_cookie)
    return cookies


def _cookie_header(headers) -> str:
    return "; ".join(f"{name}={morsel.value}" for name, morsel in _cookies(headers).items())
