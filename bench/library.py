"""The resource library: its pages against hello-world, a large download against a plain sendfile server,
and what a large upload costs a gunicorn worker in memory."""
import hashlib
import http.client
import io
import json
import os
import re
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

from bench.common import BenchError, Figure, LoadResult, bench_seconds, gunicorn, request
from bench.pages import TEACHER, Page, against_hello, log_in, reslib_instance, run_cli
from bench.sendfile_server import sendfile_server

STUDENT = {"username": "dc02.s1", "password": "Dongchang#2026"}  # an account `reslib demo` creates
MiB = 1024 * 1024
DOWNLOAD_MIB = 200
DOWNLOAD_TARGET = 0.85  # the app should send a file at least this fast against a plain sendfile server
UPLOAD_MIB = 1024
RSS_LIMIT_MIB = 50  # what an upload may add to a worker's memory, whatever the file's size
RSS_SAMPLE_SECONDS = 0.05
ZIP_MEMBER_MIB = 64
TRANSFER_TIMEOUT = 300  # seconds a socket operation of a large transfer may take (fsyncing 1 GB included)


def figures() -> list[Figure]:
    with reslib_instance() as env:  # set up first: it is what most often breaks
        cli = str(Path(sys.executable).parent / "reslib")
        token = run_cli([cli, "users", "token", TEACHER["username"]], env).strip()
        with gunicorn("wsgi:app", env=env) as port:
            teacher, student = log_in(port), log_in(port, STUDENT)
            pages = against_hello(port, [
                Page("GET /library (student)", "/library", {"Cookie": student}),
                Page("GET /resources/<id> (student)", _first_resource_page(port, student), {"Cookie": student}),
            ])
            resource_id, sha = _upload(port, token, DOWNLOAD_MIB)
            download = _download_figure(port, f"/resources/{resource_id}/download", {"Cookie": teacher},
                                        _blob_path(env, sha))
            upload = _upload_figure(port, token)
    return [*pages, download, upload]


def _first_resource_page(port: int, cookie: str) -> str:
    """The page of the first resource /library lists (the demo district publishes some)."""
    status, _headers, body = request(port, "GET", "/library", headers={"Cookie": cookie})
    if status != 200:
        raise BenchError(f"GET /library answered {status}, not 200")
    found = re.search(r'href="(/resources/\d+)"', body.decode())
    if found is None:
        raise BenchError("GET /library lists no resource to measure the page of")
    return found.group(1)


# --- downloads ----------------------------------------------------------------------------

def _download_figure(port: int, path: str, headers: dict, blob: Path) -> Figure:
    size = blob.stat().st_size
    _expect_range(port, path, headers, size)
    # The sendfile server on both sides of the app, the faster one the baseline, as hello-world for pages.
    with sendfile_server(blob) as plain_port:
        before = _download_rate(plain_port, "/", {}, size)
    app = _download_rate(port, path, headers, size)
    with sendfile_server(blob) as plain_port:
        plain = max(before, _download_rate(plain_port, "/", {}, size), key=lambda result: result.rate)
    if plain.errors:
        raise BenchError(f"the sendfile server failed {plain.errors} downloads; the baseline is unusable")
    value, baseline = app.rate * size / MiB, plain.rate * size / MiB
    ratio = value / baseline
    return Figure(
        name=f"download {DOWNLOAD_MIB} MB (Range-capable)",
        value=round(value, 1),
        baseline=round(baseline, 1),
        ratio=round(ratio, 3),
        unit="MB/s",
        corpus_size=size,
        target=DOWNLOAD_TARGET,
        passed=ratio >= DOWNLOAD_TARGET and app.errors == 0,
        tool=app.tool,
        errors=app.errors,
    )


def _expect_range(port: int, path: str, headers: dict, size: int) -> None:
    """The download must answer a Range request with just that range (checked without reading the body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={**headers, "Range": "bytes=0-1023"})
        response = conn.getresponse()
        content_range = response.headers.get("Content-Range")
    finally:
        conn.close()
    if response.status != 206 or content_range != f"bytes 0-1023/{size}":
        raise BenchError(f"GET {path} with Range: bytes=0-1023 answered {response.status} "
                         f"(Content-Range {content_range}), not 206 with that range")


def _download_rate(port: int, path: str, headers: dict, size: int) -> LoadResult:
    """Whole downloads per second of ``path``, one after another on one connection, after one to warm up.

    Each is read into the same buffer, so the client costs as little as it can and the same on both sides.
    """
    buffer = memoryview(bytearray(MiB))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TRANSFER_TIMEOUT)

    def download() -> bool:
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            received = 0
            while count := response.readinto(buffer):
                received += count
        except (OSError, http.client.HTTPException):
            conn.close()  # the next request opens a fresh connection
            return False
        return response.status == 200 and received == size

    try:
        if not download():
            raise BenchError(f"GET {path} did not send the whole {size}-byte file with a 200")
        ok = errors = 0
        start = time.monotonic()
        deadline = start + bench_seconds()
        while time.monotonic() < deadline:
            if download():
                ok += 1
            else:
                errors += 1
        return LoadResult(ok=ok, errors=errors, seconds=time.monotonic() - start, tool="python")
    finally:
        conn.close()


def _blob_path(env: dict, sha: str) -> Path:
    """Where the instance stores the file with this sha256 (its default storage, under the instance)."""
    path = Path(env["RESLIB_INSTANCE_PATH"], "files", "blobs", sha[:2], sha[2:4], sha)
    if not path.is_file():
        raise BenchError(f"the uploaded file is not stored at {path}")
    return path


# --- uploads ------------------------------------------------------------------------------

def _upload_figure(port: int, token: str) -> Figure:
    workers = _worker_pids(port)
    with _RssWatch(workers) as watch:
        _upload(port, token, UPLOAD_MIB)
    growth = watch.growth_mib()
    return Figure(
        name=f"upload {UPLOAD_MIB // 1024} GB: worker RSS growth",
        value=round(growth, 1),
        baseline=RSS_LIMIT_MIB,
        ratio=round(growth / RSS_LIMIT_MIB, 3),
        unit=f"MB RSS growth (limit {RSS_LIMIT_MIB})",
        corpus_size=UPLOAD_MIB * MiB,
        target=1.0,
        lower_is_better=True,
        passed=growth < RSS_LIMIT_MIB,
        tool="python",
        errors=0,  # a failed upload raises: its memory would say nothing
    )


def _upload(port: int, token: str, mib: int) -> tuple[int, str]:
    """Upload a generated ZIP of ``mib`` MiB through the API as the raw body; returns (resource id, sha256)."""
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for chunk in stored_zip(mib):
            digest.update(chunk)
            yield chunk

    name = f"bench-{mib}MB.zip"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TRANSFER_TIMEOUT)
    try:
        # A body of unknown length goes out chunked, so the file is never whole in memory here either.
        conn.request("POST", "/api/v1/resources", body=body(), headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/octet-stream",
            "X-File-Name": name,
        })
        response = conn.getresponse()
        answer = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise BenchError(f"uploading {name} failed: {exc!r}") from exc
    finally:
        conn.close()
    if response.status != 201:
        raise BenchError(f"uploading {name} answered {response.status}, not 201: {answer[:500]!r}")
    return json.loads(answer)["id"], digest.hexdigest()


def stored_zip(mib: int) -> Iterator[bytes]:
    """A ZIP of ``mib`` MiB of random bytes in stored (uncompressed) members, made chunk by chunk."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED) as archive:
        for first in range(0, mib, ZIP_MEMBER_MIB):
            with archive.open(f"part-{first // ZIP_MEMBER_MIB:03}.bin", "w") as member:
                for _ in range(min(ZIP_MEMBER_MIB, mib - first)):
                    member.write(os.urandom(MiB))
                    yield from sink.drain()
    yield from sink.drain()  # the last member's trailer and the central directory, written on close


class _Sink(io.RawIOBase):
    """Where ZipFile writes; not seekable, so ZipFile streams (sizes go in data descriptors)."""

    def __init__(self):
        super().__init__()
        self._chunks = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def drain(self) -> list[bytes]:
        chunks, self._chunks = self._chunks, []
        return chunks


def _worker_pids(port: int) -> list[int]:
    """The workers of the gunicorn this process started on ``port``: the children of its master."""
    parents = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            parents[int(status.parent.name)] = int(_status_field(status, "PPid"))
        except (FileNotFoundError, ProcessLookupError):  # it ended while we looked
            continue
    bind = f"127.0.0.1:{port}"
    for pid, parent in parents.items():
        if parent == os.getpid() and bind in Path(f"/proc/{pid}/cmdline").read_text().split("\0"):
            return [child for child, its_parent in parents.items() if its_parent == pid]
    raise BenchError(f"found no gunicorn master serving {bind} among this process's children")


def _rss_mib(pid: int) -> float:
    return int(_status_field(Path(f"/proc/{pid}/status"), "VmRSS").split()[0]) / 1024  # given in kB


def _status_field(status: Path, field: str) -> str:
    for line in status.read_text().splitlines():
        name, _sep, value = line.partition(":")
        if name == field:
            return value.strip()
    raise BenchError(f"{status} has no {field}")


class _RssWatch:
    """Samples the RSS of some processes every RSS_SAMPLE_SECONDS, in a thread, while the block runs."""

    def __init__(self, pids: list[int]):
        self._before = {pid: _rss_mib(pid) for pid in pids}
        self._peaks = dict(self._before)
        self._stop = threading.Event()
        self._failure = None
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join()
        if self._failure is not None and exc_info[0] is None:
            raise BenchError(f"a worker's memory could not be read during the upload: {self._failure!r}")

    def growth_mib(self) -> float:
        """The largest rise of any process's RSS above where it stood before the block."""
        return max(self._peaks[pid] - self._before[pid] for pid in self._before)

    def _sample(self) -> None:
        try:
            while True:
                for pid in self._peaks:
                    self._peaks[pid] = max(self._peaks[pid], _rss_mib(pid))
                if self._stop.wait(RSS_SAMPLE_SECONDS):
                    return
        except (OSError, BenchError) as exc:  # a worker that ended takes its /proc entry with it
            self._failure = exc
