"""Bulk import and the search page, in a demo district holding the generated corpus.

Figures: the import rate with indexing, end to end: ``reslib import`` runs while ``reslib worker``
indexes each committed batch, as a district runs them (``make run`` starts the worker beside the web
server); when the import is done the worker is stopped gracefully (its running task finishes) and
``reslib worker --drain`` indexes what is left, so the rate never counts records still waiting in
the queue. Then the search page's requests/s under gunicorn against hello-world served the same way.
"""
import csv
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from contextlib import contextmanager
from pathlib import Path

from bench import corpus
from bench.common import REPO_ROOT, SEARCH_WARMUP_SECONDS, BenchError, Figure, gunicorn
from bench.library import STUDENT
from bench.pages import Page, against_hello, log_in, reslib_instance, run_cli

IMPORT_TARGET = 10_000  # records a minute, indexing included
SEARCH_PAGE_TARGET = 0.15  # of hello-world's rate
SLOWEST_RATE = 10  # records a second: an import or indexing slower than this is given up as broken
ADMIN = "admin"  # the demo's district admin, who imports into the district library
SEARCH_QUERY = "勾股定理"
HEADER = ["资源标题", "资源简介", "关键词", "主讲人", "版权方", "创建时间", "学段", "学科", "年级", "教材版本",
          "资源形式", "资源类别", "来源", "链接"]


def figures() -> list[Figure]:
    count = corpus.record_count()
    with reslib_instance() as env, tempfile.TemporaryDirectory(prefix="bench-catalogue-") as workdir:
        cli = str(Path(sys.executable).parent / "reslib")
        catalogue = Path(workdir, "目录.csv")
        _write_catalogue(catalogue, count)
        timeout = max(600, count / SLOWEST_RATE)
        start = time.perf_counter()
        with _worker(cli, env, timeout):
            run_cli([cli, "import", str(catalogue), "--as", ADMIN], env, timeout)
        run_cli([cli, "worker", "--drain"], env, timeout)
        seconds = time.perf_counter() - start
        report = run_cli([cli, "check"], env)  # fails unless every imported record is in the index
        if "缺少 0 个，过期 0 个" not in report:
            raise BenchError(f"the index does not hold every imported record:\n{report}")
        with gunicorn("wsgi:app", env=env) as port:
            student = log_in(port, STUDENT)
            search_page = against_hello(port, [Page(
                f"GET /search?q={SEARCH_QUERY} (student)", f"/search?q={urllib.parse.quote(SEARCH_QUERY)}",
                {"Cookie": student}, target=SEARCH_PAGE_TARGET, warmup_seconds=SEARCH_WARMUP_SECONDS,
            )])
    per_minute = count / seconds * 60
    return [
        Figure(
            name="import with indexing (reslib import + worker)",
            value=round(per_minute),
            baseline=IMPORT_TARGET,
            ratio=round(per_minute / IMPORT_TARGET, 3),
            unit=f"records/min (target {IMPORT_TARGET})",
            corpus_size=count,
            target=1.0,
            passed=per_minute >= IMPORT_TARGET,
            tool="python",
            errors=0,  # a failed import or drain raises: its rate would say nothing
        ),
        *search_page,
    ]


@contextmanager
def _worker(cli: str, env: dict, timeout: float):
    """``reslib worker`` running for the block; stopped at its end with SIGINT, huey's graceful stop."""
    with tempfile.TemporaryFile() as log:
        worker = subprocess.Popen([cli, "worker"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            worker.send_signal(signal.SIGINT)
            try:
                worker.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                worker.kill()
                raise BenchError(f"reslib worker did not stop within {timeout:.0f} s") from None
        if worker.returncode not in (0, -signal.SIGINT):
            log.seek(0)
            raise BenchError(f"reslib worker failed with status {worker.returncode}:\n{log.read().decode()}")


def _write_catalogue(path: Path, count: int) -> None:
    """The corpus as a catalogue file with the national standard's Chinese headers, one link per record."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for record in corpus.records(count):
            writer.writerow([
                record["title"], record["description"], "；".join(record["keywords"]), "、".join(record["presenters"]),
                "东昌区教育局", record["published_at"].date().isoformat(), record["stage"], record["subject"],
                record["grade"], record["edition"], record["form"], record["kind"], record["source"],
                f"https://resources.example.org/{record['id']}",
            ])
