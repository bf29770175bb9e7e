"""What every figure group shares: run settings, gunicorn servers, the load generator, the results file."""
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from bench import gunicorn_conf

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_FILE = BENCH_DIR / "results" / "latest.json"

WARMUP_SECONDS = 1  # first requests pay for compiling templates and opening DB connections
# The search page's: the server loads the dictionaries and the index's masks and opens a searcher for each
# search running at once, seconds in all on a fresh import's ten segments, which left most of a 1 s warm-up
# and 5 s measurement to cold starts. Its figure is the steady rate; the
# first search is what gunicorn.conf.py's read-ahead shortens (docs/operations.md).
SEARCH_WARMUP_SECONDS = 15
CONNECTIONS = 16  # twice the server's 2 x 4 threads, so a thread never waits for the client
START_TIMEOUT = 60  # seconds gunicorn gets to have every worker serving
# Chosen once per run, so the baseline and the figures set against it share one load generator.
LOAD_TOOL = "wrk" if shutil.which("wrk") else "python"


class BenchError(Exception):
    """The bench itself could not measure (as opposed to a figure missing its target)."""


@dataclass
class Figure:
    name: str
    value: float
    baseline: float  # the same quantity for the reference, measured in the same run
    ratio: float  # value / baseline
    unit: str
    corpus_size: int | None  # how much data the figure ran against, where that matters
    target: float  # the least ratio that passes (the most, when lower_is_better)
    passed: bool
    tool: str  # what generated the load
    errors: int  # failed requests during the measurement (non-2xx answers or broken connections)
    lower_is_better: bool = False  # e.g. memory growth against its limit


@dataclass
class LoadResult:
    ok: int  # 2xx answers
    errors: int
    seconds: float
    tool: str

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def bench_seconds() -> int:
    """Measuring time per figure, from BENCH_SECONDS; whole seconds because wrk takes no fractions."""
    raw = os.environ.get("BENCH_SECONDS", "5")
    try:
        seconds = int(raw)
    except ValueError:
        seconds = 0
    if seconds < 1:
        raise BenchError(f"BENCH_SECONDS must be a whole number of seconds >= 1, not {raw!r}")
    return seconds


def request(port: int, method: str, path: str, body: str | None = None, headers: dict | None = None):
    """One request to 127.0.0.1:port; returns (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(app: str, env: dict | None = None):
    """Serve ``app`` (a gunicorn target such as ``wsgi:app``) on a free local port; yields the port."""
    port = _free_port()
    cmd = [sys.executable, "-m", "gunicorn", "--config", "python:bench.gunicorn_conf",
           "--bind", f"127.0.0.1:{port}", app]
    with tempfile.TemporaryDirectory(prefix="bench-gunicorn-") as ready_dir, tempfile.TemporaryFile() as log:
        server_env = {**(env or os.environ), "BENCH_READY_DIR": ready_dir}
        # Its own process group: the bench alone decides when it stops, and can kill it whole.
        server = subprocess.Popen(cmd, cwd=REPO_ROOT, env=server_env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        try:
            _wait_for_workers(server, Path(ready_dir), log)
            yield port
        finally:
            _stop(server)


def _stop(server: subprocess.Popen) -> None:
    # INT is gunicorn's quick shutdown: a bench server has no requests worth finishing, and the
    # graceful TERM can take many seconds while a worker is still importing the app.
    server.send_signal(signal.SIGINT)
    try:
        server.wait(timeout=gunicorn_conf.graceful_timeout + 5)
    except subprocess.TimeoutExpired:
        pass
    # Whatever is left of the group goes too: killing only the master would orphan its workers
    # (seen with a gthread worker that hung at exit while its master was being killed).
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait()


def _wait_for_workers(server: subprocess.Popen, ready_dir: Path, log) -> None:
    """Wait until every worker has loaded the app, so no measurement runs with a worker still booting."""
    deadline = time.monotonic() + START_TIMEOUT
    while len(list(ready_dir.iterdir())) < gunicorn_conf.workers:
        if server.poll() is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")[-3000:]
            raise BenchError(f"gunicorn {server.args[-1]} exited with status {server.returncode}:\n{output}")
        if time.monotonic() > deadline:
            raise BenchError(f"gunicorn {server.args[-1]} did not have its workers up within {START_TIMEOUT} s")
        time.sleep(0.1)


def measure_rate(port: int, path: str, headers: dict | None = None, warmup_seconds: int = WARMUP_SECONDS) -> LoadResult:
    """Successful GETs per second of ``path`` under load, after a warm-up of ``warmup_seconds``.

    The page must answer 200 before and after the load: wrk counts a 3xx as a success, so this is
    what catches, say, a session that stops being logged in and is redirected to /login.
    """
    headers = headers or {}
    load = _wrk if LOAD_TOOL == "wrk" else _python_load
    _expect_ok(port, path, headers)
    load(port, path, headers, warmup_seconds)
    result = load(port, path, headers, bench_seconds())
    _expect_ok(port, path, headers)
    return result


def _expect_ok(port: int, path: str, headers: dict) -> None:
    status, response_headers, _ = request(port, "GET", path, headers=headers)
    if status != 200:
        redirect = f" (to {response_headers['Location']})" if "Location" in response_headers else ""
        raise BenchError(f"GET {path} answered {status}{redirect}, not 200")


def _wrk(port: int, path: str, headers: dict, seconds: int) -> LoadResult:
    # One wrk thread drives every connection easily and leaves the second core to the server.
    cmd = ["wrk", "--threads", "1", "--connections", str(CONNECTIONS), "--duration", f"{seconds}s",
           "--script", str(BENCH_DIR / "wrk_summary.lua")]
    for name, value in headers.items():
        cmd += ["--header", f"{name}: {value}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"wrk did not finish: {' '.join(cmd)}") from exc
    if done.returncode != 0 or not done.stdout.strip():
        raise BenchError(f"wrk failed with status {done.returncode}:\n{done.stderr or done.stdout}")
    totals = json.loads(done.stdout.strip().splitlines()[-1])
    return LoadResult(
        ok=totals["responses"] - totals["status_errors"],
        errors=totals["status_errors"] + totals["socket_errors"],
        seconds=totals["duration_us"] / 1e6,
        tool="wrk",
    )


def _python_load(port: int, path: str, headers: dict, seconds: int) -> LoadResult:
    """CONNECTIONS threads, each sending GETs back to back on its own keep-alive connection.

    Slower than wrk (on 2 cores it tops out near 60% of wrk's hello-world rate), so the baseline is
    partly client-bound and ratios come out higher than with wrk; the "tool" of each figure says which ran.
    """
    deadline = time.monotonic() + seconds
    tallies = [[0, 0] for _ in range(CONNECTIONS)]  # [ok, errors], one list per thread, so no lock

    def client(tally: list[int]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            while time.monotonic() < deadline:
                try:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                except (OSError, http.client.HTTPException):
                    tally[1] += 1
                    conn.close()  # the next request opens a fresh connection
                    continue
                tally[0 if 200 <= response.status < 300 else 1] += 1
        finally:
            conn.close()

    # Daemon threads, so Ctrl-C ends the run without waiting for the deadline.
    threads = [threading.Thread(target=client, args=(tally,), daemon=True) for tally in tallies]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return LoadResult(
        ok=sum(ok for ok, _ in tallies),
        errors=sum(errors for _, errors in tallies),
        seconds=time.monotonic() - start,
        tool="python",
    )


def write_results(figures: list[Figure]) -> Path:
    RESULTS_FILE.parent.mkdir(exist_ok=True)
    document = {
        "measured_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "settings": {"seconds": bench_seconds(), "warmup_seconds": WARMUP_SECONDS,
                     "search_page_warmup_seconds": SEARCH_WARMUP_SECONDS, "connections": CONNECTIONS},
        "figures": [asdict(figure) for figure in figures],
    }
    RESULTS_FILE.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    return RESULTS_FILE


def print_table(figures: list[Figure]) -> None:
    rows = [("figure", "value", "baseline", "ratio", "target", "errors", "tool", "result")]
    for f in figures:
        rows.append((
            f.name,
            f"{f.value:,.1f} {f.unit}",
            f"{f.baseline:,.1f} {f.unit}",
            f"{f.ratio:.3f}",
            f"{'<' if f.lower_is_better else '>='} {f.target}",
            str(f.errors),
            f.tool,
            "ok" if f.passed else "MISSED",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    missed = [f.name for f in figures if not f.passed]
    print()
    if missed:
        print(f"TARGET MISSED: {', '.join(missed)}")
    elif figures:
        print("All targets met.")
