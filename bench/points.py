"""The points plugin at a district's scale: 60 schools, 50,000 people, a million usage events.

Figures:
- ``reslib points recompute`` on that district, first with an empty ledger (the plugin was off: every source is
  credited and every total built) and then again (nothing missing: the totals rebuilt), against QUALITY's
  60 seconds;
- what the plugin adds to recording a usage event: ``usage.record`` calls per second in this process with
  "points" among the PLUGINS against the same calls without it, on the same database, taking turns;
- the evaluation pages under gunicorn (a school's report as its admin, the district's as the district admin)
  against the signed-in floor (``GET /password``) of the same person, served the same way in the same run. A
  page that does not answer 200 is reported as not measured (the group's other figures stand); one too slow for
  the load generator's 10 s timeouts is measured with fewer connections (the figure's tool says so).

The district is generated straight into a fresh SQLite instance with SQLAlchemy Core: a minute or two, with
progress printed. BENCH_POINTS_PEOPLE and BENCH_POINTS_EVENTS make it smaller for a quick look.
"""
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.common import WARMUP_SECONDS, BenchError, Figure, LoadResult, bench_seconds, gunicorn, measure_rate
from bench.pages import against, log_in, run_cli

SCHOOLS = 60
UNITS = 6
DEFAULT_PEOPLE = 50_000
DEFAULT_EVENTS = 1_000_000
TEACHER_SHARE = 0.072  # of a school's people: 60 teachers (its admin among them) in a school of 833
RESOURCES_PER_SCHOOL = 80
HISTORY_DAYS = 150  # events over the last 150 days: this term and the end of the one before
BATCH = 50_000  # rows per insert
SEED = 2026
PASSWORD = "Dongchang#2026"
DISTRICT_ADMIN = "admin"
PLUGINS = ["points", "awards", "sync_provincial"]  # as a district runs them
MIME = {"video": ("video/mp4", "mp4"), "audio": ("audio/mpeg", "mp3"), "pdf": ("application/pdf", "pdf")}

RECOMPUTE_TARGET_SECONDS = 60
RECORD_TARGET = 0.8  # usage.record with points, of its rate without
REPORT_TARGET = 0.6  # a report page, of the same person's signed-in floor
ROUNDS = 3  # each measured side takes turns with its baseline this many times; the figure is the median round
PAGE_PROBE_TIMEOUT = 120  # seconds the first request of a report page may take
SLOW_CONNECTIONS = 4  # for a page too slow for measure_rate's 16 connections and 10 s timeouts
SLOW_PAGE_SECONDS = 1.0  # a page this slow alone would take 8 s and more under measure_rate's 16 connections
RECOMPUTE_TIMEOUT = 1800


def _count(variable: str, default: int) -> int:
    raw = os.environ.get(variable, str(default))
    try:
        count = int(raw)
    except ValueError:
        count = 0
    if count < 1:
        raise BenchError(f"{variable} must be a whole number >= 1, not {raw!r}")
    return count


def figures() -> list[Figure]:
    people, events = _count("BENCH_POINTS_PEOPLE", DEFAULT_PEOPLE), _count("BENCH_POINTS_EVENTS", DEFAULT_EVENTS)
    with points_instance() as (env, instance):
        district = generate(instance, people, events)
        cli = str(Path(sys.executable).parent / "reslib")
        found = [_recompute_figure(cli, env, events, "empty ledger"),
                 _recompute_figure(cli, env, events, "again, nothing missing")]
        found.append(_record_figure(instance, district))
        with gunicorn("wsgi:app", env=env) as port:
            found += _report_figures(port, district)
    return found


# --- the instance and the district ---------------------------------------------------------------

@contextmanager
def points_instance():
    """A throwaway instance with the current schema and nothing else; yields (its environment, its folder)."""
    cli = Path(sys.executable).parent / "reslib"
    if not cli.exists():
        raise BenchError(f"{cli} not found: install reslib into this environment first (make setup)")
    instance = tempfile.mkdtemp(prefix="reslib-bench-points-")
    # Inherited RESLIB_* settings (a DATABASE_URL above all) must never point the bench at a real district.
    env = {name: value for name, value in os.environ.items() if not name.startswith("RESLIB_")}
    env["RESLIB_INSTANCE_PATH"] = instance
    env["RESLIB_PLUGINS"] = ",".join(PLUGINS)
    env["RESLIB_LOGIN_RATE_LIMIT_PER_ADDRESS"] = "100000 per minute"
    try:
        run_cli([str(cli), "init-db"], env)
        yield env, instance
    finally:
        shutil.rmtree(instance, ignore_errors=True)


def _app(instance: str, plugins: list[str]):
    """The instance's app in this process (as its gunicorn workers would build it), with these plugins."""
    from reslib import create_app

    return create_app({"INSTANCE_PATH": instance, "DATABASE_URL": None,
                       "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(Path(instance, "reslib.db")),
                       "PLUGINS": plugins})


@dataclass
class District:
    people: int
    events: int
    school_id: int  # the school whose admin reads its report
    school_admin: str
    learners: list[int]  # account ids of students, for recording uses
    library: list[int]  # resource ids in the district library


def generate(instance: str, people: int, events: int) -> District:
    """Schools, accounts (one password for all), resources with their sizes and grades, ratings and usage events
    spread over HISTORY_DAYS, written with Core in batches. Deterministic (SEED)."""
    from sqlalchemy import insert

    from reslib.extensions import db
    from reslib.models import Rating, Resource, School, Unit, UsageEvent, User
    from reslib.models.accounts import UserRole
    from reslib.models.base import utcnow
    from reslib.services import accounts

    rng = random.Random(SEED)
    started = time.perf_counter()
    app = _app(instance, PLUGINS)
    with app.app_context():
        password_hash = accounts.hash_password(PASSWORD)  # with the configured argon2id, as a sign-in checks it
        now = utcnow()
        long_ago = now - timedelta(days=2 * 365)
        with db.engine.begin() as conn:
            conn.execute(insert(Unit.__table__), [{"id": n, "name": f"第{n}片区"} for n in range(1, UNITS + 1)])
            conn.execute(insert(School.__table__), [
                {"id": n, "name": f"东昌区第{n}学校", "code": f"P{n:02d}", "unit_id": (n - 1) % UNITS + 1,
                 "created_at": long_ago} for n in range(1, SCHOOLS + 1)])

            accounts_rows, roles = [], []
            teachers, students = {n: [] for n in range(1, SCHOOLS + 1)}, []

            def account(user_id, username, school, identifier, *role_names):
                accounts_rows.append({"id": user_id, "username": username, "password_hash": password_hash,
                                      "real_name": f"测试{user_id}", "school_id": school, "identifier": identifier,
                                      "status": "active", "created_at": long_ago, "verified_at": long_ago})
                roles.extend({"user_id": user_id, "role": role} for role in role_names)

            account(1, DISTRICT_ADMIN, None, None, "district_admin")
            per_school = (people - 1) // SCHOOLS
            teachers_per_school = max(2, round(per_school * TEACHER_SHARE))
            user_id = 1
            for school in range(1, SCHOOLS + 1):
                for k in range(per_school):
                    user_id += 1
                    if k == 0:
                        account(user_id, f"p{school:02d}.admin", school, f"T{school:02d}000", "school_admin",
                                "teacher")
                        teachers[school].append(user_id)
                    elif k < teachers_per_school:
                        account(user_id, f"p{school:02d}.t{k:02d}", school, f"T{school:02d}{k:03d}", "teacher")
                        teachers[school].append(user_id)
                    else:
                        account(user_id, f"p{school:02d}.s{k:04d}", school, f"S{school:02d}{k:04d}", "student")
                        students.append((user_id, school))
            _insert(conn, User.__table__, accounts_rows, "accounts")
            _insert(conn, UserRole.__table__, roles, "roles")

            resources, library, own_school = [], [], {n: [] for n in range(1, SCHOOLS + 1)}
            resource_id = 0
            for school in range(1, SCHOOLS + 1):
                for _k in range(RESOURCES_PER_SCHOOL):
                    resource_id += 1
                    kind = rng.choices(["video", "audio", "pdf"], [4, 1, 5])[0]
                    probe = ({"duration": rng.randint(2, 40) * 60} if kind in ("video", "audio")
                             else {"page_count": rng.randint(5, 60)})
                    status = "published" if rng.random() < 0.9 else "school_approved"
                    published_at = now - timedelta(days=rng.uniform(HISTORY_DAYS, 2 * HISTORY_DAYS))
                    resources.append({
                        "id": resource_id, "lineage_id": resource_id, "owner_id": rng.choice(teachers[school]),
                        "school_id": school, "status": status, "title": f"东昌区资源 {resource_id}", "kind": "teacher",
                        "file_kind": kind, "file_mime": MIME[kind][0], "file_name": f"{resource_id}.{MIME[kind][1]}",
                        "file_size": rng.randint(1, 200) * 1024 * 1024, "processing": "done",
                        "probe_json": json.dumps(probe), "grade": rng.choice(["excellent", "good", "pass", None]),
                        "created_at": published_at, "updated_at": published_at, "published_at": published_at,
                    })
                    own_school[school].append((resource_id, kind))
                    if status == "published":
                        library.append((resource_id, kind))
            _insert(conn, Resource.__table__, resources, "resources")

            # Events in time order, as they arrive: who (mostly students), what, which kind.
            span = HISTORY_DAYS * 86400
            offsets = sorted(rng.random() * span for _ in range(events))
            teachers_all = [(t, school) for school, ids in teachers.items() for t in ids]
            rated, ratings, batch, written = set(), [], [], 0
            for event_id, offset in enumerate(offsets, start=1):
                user, school = rng.choice(students) if rng.random() < 0.9 else rng.choice(teachers_all)
                resource, kind_of_file = (rng.choice(library) if rng.random() < 0.85
                                          else rng.choice(own_school[school]))
                kind = rng.choices(["view", "preview", "download", "rate"], [35, 40, 15, 10])[0]
                progress = None
                if kind == "preview":
                    progress = rng.randint(1, 10) * 10
                elif kind == "rate":
                    if (user, resource) in rated:
                        kind = "view"
                    else:
                        rated.add((user, resource))
                        ratings.append({"lineage_id": resource, "user_id": user, "stars": rng.randint(1, 5),
                                        "comment": "讲得很清楚，很有帮助" if rng.random() < 0.5 else "",
                                        "updated_at": now - timedelta(seconds=span - offset)})
                batch.append({"id": event_id, "resource_id": resource, "lineage_id": resource, "user_id": user,
                              "school_id": school, "kind": kind, "progress": progress,
                              "at": now - timedelta(seconds=span - offset)})
                if len(batch) == BATCH:
                    conn.execute(insert(UsageEvent.__table__), batch)
                    written += len(batch)
                    batch = []
                    print(f"points bench: {written:,} of {events:,} usage events "
                          f"({time.perf_counter() - started:.0f} s)", flush=True)
            if batch:
                conn.execute(insert(UsageEvent.__table__), batch)
            _insert(conn, Rating.__table__, ratings, "ratings")
        db.engine.dispose()
    print(f"points bench: district generated in {time.perf_counter() - started:.0f} s: {SCHOOLS} schools, "
          f"{len(accounts_rows):,} people, {len(resources):,} resources, {events:,} usage events", flush=True)
    return District(people=len(accounts_rows), events=events, school_id=1, school_admin="p01.admin",
                    learners=[user for user, _school in students], library=[resource for resource, _k in library])


def _insert(conn, table, rows: list[dict], what: str) -> None:
    from sqlalchemy import insert

    for start in range(0, len(rows), BATCH):
        conn.execute(insert(table), rows[start:start + BATCH])
    print(f"points bench: {len(rows):,} {what}", flush=True)


# --- (a) the recompute ----------------------------------------------------------------------------

def _recompute_figure(cli: str, env: dict, events: int, what: str) -> Figure:
    start = time.perf_counter()
    output = run_cli([cli, "points", "recompute"], env, RECOMPUTE_TIMEOUT)
    seconds = time.perf_counter() - start
    print(f"points bench: reslib points recompute ({what}) took {seconds:.1f} s:\n{output.strip()}", flush=True)
    return Figure(
        name=f"reslib points recompute ({what})",
        value=round(seconds, 1),
        baseline=RECOMPUTE_TARGET_SECONDS,
        ratio=round(seconds / RECOMPUTE_TARGET_SECONDS, 3),
        unit=f"s wall (limit {RECOMPUTE_TARGET_SECONDS})",
        corpus_size=events,
        target=1.0,
        lower_is_better=True,
        passed=seconds <= RECOMPUTE_TARGET_SECONDS,
        tool="reslib CLI",
        errors=0,  # a failed recompute raises: its time would say nothing
    )


# --- (b) what the plugin adds to recording a use ------------------------------------------------

def _record_figure(instance: str, district: District) -> Figure:
    """usage.record calls per second with the points plugin against without it, taking turns on the same
    database: without, with, without, … ROUNDS times; a round's baseline is the faster of the runs without on
    either side of it, and the figure is the median round."""
    from reslib.extensions import db

    with_points = _app(instance, PLUGINS)
    without = _app(instance, [name for name in PLUGINS if name != "points"])
    uses = _Uses(district)
    _record_rate(without, uses, WARMUP_SECONDS)
    _record_rate(with_points, uses, WARMUP_SECONDS)
    baselines, results = [_record_rate(without, uses, bench_seconds())], []
    for _round in range(ROUNDS):
        results.append(_record_rate(with_points, uses, bench_seconds()))
        baselines.append(_record_rate(without, uses, bench_seconds()))
    for app in (with_points, without):
        with app.app_context():
            db.engine.dispose()
    rounds = sorted((against(max(before, after, key=lambda run: run.rate), "", result, RECORD_TARGET)
                     for before, after, result in zip(baselines, baselines[1:], results)),
                    key=lambda figure: figure.ratio)
    median = rounds[ROUNDS // 2]
    median.name = "usage.record with points, of without (in-process)"
    median.unit = "calls/s"
    median.corpus_size = district.events
    median.tool = "in-process"
    return median


class _Uses:
    """An endless, fixed sequence of (learner, resource, kind, progress): students using library resources."""

    def __init__(self, district: District):
        self._rng = random.Random(SEED + 1)
        self._learners, self._library = district.learners, district.library

    def next(self) -> tuple[int, int, str, int | None]:
        kind = self._rng.choices(["view", "preview", "download"], [4, 4, 2])[0]
        progress = self._rng.randint(1, 10) * 10 if kind == "preview" else None
        return self._rng.choice(self._learners), self._rng.choice(self._library), kind, progress


def _record_rate(app, uses: _Uses, seconds: float) -> LoadResult:
    """Calls of usage.record for ``seconds``, each in an app context of its own as a request's would be."""
    from reslib.extensions import db
    from reslib.models import Resource, User
    from reslib.services import usage

    calls = recorded = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        user_id, resource_id, kind, progress = uses.next()
        with app.app_context():
            try:
                event = usage.record(db.session.get(User, user_id), db.session.get(Resource, resource_id), kind,
                                     progress)
            finally:
                db.session.remove()
        calls += 1
        recorded += event is not None
    if not recorded:
        raise BenchError("usage.record recorded no event at all: the measurement would say nothing")
    return LoadResult(ok=calls, errors=0, seconds=time.perf_counter() - start, tool="in-process")


# --- (c) the report pages -----------------------------------------------------------------------------

@dataclass
class _Report:
    name: str
    path: str
    cookie: str
    floor: list  # LoadResults of GET /password for the same person, one more than rounds
    rounds: list
    missing: str | None = None  # why it was not measured
    slow: bool = False  # measured by _slow_rate


def _report_figures(port: int, district: District) -> list[Figure]:
    """Each report page against GET /password for the same person, taking turns like against_hello: floor,
    page, floor, … ROUNDS times, the page's baseline in a round the faster floor on either side of it."""
    school_admin = log_in(port, {"username": district.school_admin, "password": PASSWORD})
    district_admin = log_in(port, {"username": DISTRICT_ADMIN, "password": PASSWORD})
    reports = [
        _Report("GET /points/school (school admin) of GET /password",
                f"/points/school?school_id={district.school_id}", school_admin, [], []),
        _Report("GET /points/district (district admin) of GET /password",
                "/points/district", district_admin, [], []),
    ]
    for report in reports:
        report.missing, seconds = _probe(port, report.path, report.cookie)
        report.slow = seconds > SLOW_PAGE_SECONDS
        if report.missing:
            print(f"points bench: {report.path} not measured: {report.missing}", file=sys.stderr, flush=True)
    for number in range(ROUNDS):
        for report in reports:
            if report.missing:
                continue
            headers = {"Cookie": report.cookie}
            if number == 0:
                report.floor.append(measure_rate(port, "/password", headers))
            if report.slow:
                report.rounds.append(_slow_rate(port, report.path, headers))
            else:
                try:
                    report.rounds.append(measure_rate(port, report.path, headers))
                except (OSError, http.client.HTTPException) as exc:
                    # Slower than the load generator waits for (10 s a request, 16 at once): from now on with
                    # fewer at once and longer waits, so it still gets a figure.
                    print(f"points bench: {report.path} under load: {exc!r}; measured with {SLOW_CONNECTIONS} "
                          f"connections from now on", file=sys.stderr, flush=True)
                    report.slow = True
                    report.rounds.append(_slow_rate(port, report.path, headers))
            report.floor.append(measure_rate(port, "/password", headers))
    found = []
    for report in reports:
        if report.missing:
            found.append(Figure(name=f"{report.name}: NOT MEASURED, {report.missing}", value=0, baseline=0,
                                ratio=0, unit="req/s", corpus_size=district.events, target=REPORT_TARGET,
                                passed=False, tool="not measured", errors=0))
            continue
        by_ratio = sorted((against(max(before, after, key=lambda run: run.rate), report.name, result, REPORT_TARGET)
                           for before, after, result in zip(report.floor, report.floor[1:], report.rounds)),
                          key=lambda figure: figure.ratio)
        median = by_ratio[ROUNDS // 2]
        median.corpus_size = district.events
        median.errors = sum(result.errors for result in report.rounds)
        median.passed = median.passed and median.errors == 0
        found.append(median)
        floors = [run.rate for run in report.floor]
        print(f"points bench: {report.path}: page {[round(r.rate, 1) for r in report.rounds]} req/s, floor "
              f"{[round(rate, 1) for rate in floors]} req/s (median floor {statistics.median(floors):.1f})",
              flush=True)
    return found


def _probe(port: int, path: str, cookie: str) -> tuple[str | None, float]:
    """(None when the page answers 200 within PAGE_PROBE_TIMEOUT, else why it cannot be measured, and how long
    it took): a missing page (they are being written) must not cost the group its other figures."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_PROBE_TIMEOUT)
    start = time.perf_counter()
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        return f"no answer within {PAGE_PROBE_TIMEOUT} s: {exc!r}", time.perf_counter() - start
    finally:
        conn.close()
    seconds = time.perf_counter() - start
    print(f"points bench: first GET {path}: {response.status} in {seconds:.2f} s", flush=True)
    if response.status == 404:
        return "404: the page is not there yet", seconds
    if response.status != 200:
        return f"answered {response.status}", seconds
    return None, seconds


def _slow_rate(port: int, path: str, headers: dict) -> LoadResult:
    """GETs per second of a page too slow for measure_rate: SLOW_CONNECTIONS connections (two per worker, so
    both cores serve) sending requests back to back for BENCH_SECONDS, each request waited for up to
    PAGE_PROBE_TIMEOUT; requests still running at the end are waited for and counted, with the time they took."""
    start = time.perf_counter()
    deadline = start + bench_seconds()
    tallies = [[0, 0] for _ in range(SLOW_CONNECTIONS)]

    def client(tally):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PAGE_PROBE_TIMEOUT)
        try:
            while time.perf_counter() < deadline:
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    tally[1] += 1
                    conn.close()
                    continue
                tally[0 if response.status == 200 else 1] += 1
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(tally,), daemon=True) for tally in tallies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(ok=sum(ok for ok, _ in tallies), errors=sum(errors for _, errors in tallies),
                      seconds=time.perf_counter() - start, tool=f"python, {SLOW_CONNECTIONS} connections")
