"""Nothing acknowledged is lost: `reslib check` finds rows without files and damaged files, and a server
killed with SIGKILL in the middle of a batch of uploads leaves only staging leftovers, which are swept."""
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

from reslib.extensions import db
from reslib.services import library
from reslib.testing import MINIMAL_PDF, add_resource

BIN = Path(sys.executable).parent


def test_check_reports_a_row_without_its_file_and_a_damaged_file(app, runner, district):
    kept = add_resource(district.teacher_a, title="完好")
    lost = add_resource(district.teacher_a, title="丢失", content=MINIMAL_PDF + b"%lost")
    damaged = add_resource(district.teacher_a, title="损坏", content=MINIMAL_PDF + b"%damaged")
    store = library.store()
    assert runner.invoke(args=["check"]).exit_code == 0

    store.path(lost.file_sha256).unlink()
    path = store.path(damaged.file_sha256)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"resource {lost.id}: file_sha256" in result.output
    assert damaged.file_sha256 in result.output
    assert kept.file_sha256 not in result.output


def test_check_sweeps_staging_leftovers(app, runner, district):
    staging = library.store().root / "staging"
    staging.mkdir(parents=True)
    (staging / "0123.part").write_bytes(b"half an upload")
    result = runner.invoke(args=["check", "--sweep-older-than", "0"])
    assert result.exit_code == 0 and "已清理暂存区残留 1 个" in result.output
    assert list(staging.iterdir()) == []


def test_the_worker_command_runs_queued_processing(app, runner, district):
    from reslib.jobs import queue

    resource = add_resource(district.teacher_a, status="draft", processing="pending")
    queue().enqueue("process_resource", resource.id)
    result = runner.invoke(args=["worker", "--drain"])
    assert result.exit_code == 0 and "已处理 1 个任务" in result.output
    db.session.refresh(resource)
    assert resource.processing == "done"


# --- the crash test -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reslib(env, *args) -> str:
    done = subprocess.run([str(BIN / "reslib"), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def start_server(env, port) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", "2", "--worker-class", "gthread", "--threads", "4",
         "--bind", f"127.0.0.1:{port}", "wsgi:app"],
        env=env, cwd=Path(__file__).parents[1], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return server
        except OSError:
            time.sleep(0.1)
    raise AssertionError("server did not start")


def slow_upload(port, token, number, acknowledged: list):
    """Send a 2 MB PDF in small pieces, so the kill lands while many uploads are half-way."""
    body = MINIMAL_PDF + f"%{number}\n".encode() + b"%" * (2 * 1024 * 1024)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", "/api/v1/resources")
        for name, value in (("Authorization", f"Bearer {token}"), ("Content-Type", "application/octet-stream"),
                            ("Content-Length", str(len(body))), ("X-File-Name", quote(f"课件{number}.pdf"))):
            conn.putheader(name, value)
        conn.endheaders()
        step = 64 * 1024
        for offset in range(0, len(body), step):
            conn.send(body[offset:offset + step])
            time.sleep(0.03 * (number % 4))
        response = conn.getresponse()
        if response.status == 201:
            acknowledged.append(number)
    except OSError:
        pass  # the server died under us: this upload was never acknowledged
    finally:
        conn.close()


def test_sigkill_during_concurrent_uploads_loses_nothing_acknowledged(tmp_path):
    instance = tmp_path / "instance"
    env = {**os.environ, "RESLIB_INSTANCE_PATH": str(instance), "RESLIB_PLUGINS": "[]"}
    env.pop("RESLIB_TEST_DATABASE_URL", None)
    reslib(env, "init-db")
    school = "第一实验小学"
    reslib(env, "schools", "import", str(_schools_csv(tmp_path, school)))
    reslib(env, "users", "create", "--username", "teacher", "--password", "Lesson#Plan42", "--name", "李老师",
           "--role", "teacher", "--school", school)
    token = reslib(env, "users", "token", "teacher").strip().splitlines()[-1].split()[-1]

    port = free_port()
    server = start_server(env, port)
    acknowledged: list[int] = []
    uploads = [threading.Thread(target=slow_upload, args=(port, token, n, acknowledged)) for n in range(12)]
    for upload in uploads:
        upload.start()
    deadline = time.time() + 30
    while not acknowledged and time.time() < deadline:  # kill once the first uploads are acknowledged
        time.sleep(0.02)
    os.killpg(server.pid, signal.SIGKILL)
    server.wait()
    for upload in uploads:
        upload.join()
    assert 0 < len(acknowledged) < len(uploads), acknowledged  # the kill landed in the middle of the batch

    server = start_server(env, port)  # the restart: the district comes back up on the same data
    try:
        report = subprocess.run([str(BIN / "reslib"), "check", "--sweep-older-than", "0"], env=env,
                                capture_output=True, text=True, timeout=120)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    assert report.returncode == 0, report.stdout + report.stderr
    assert "缺少文件" not in report.stderr and "校验和不符" not in report.stderr
    assert list((instance / "files" / "staging").glob("*")) == []  # every half-written upload swept

    listed = reslib(env, "check", "--quick")
    assert "暂存区残留（未完成的上传）：0 个" in listed
    rows = _resource_titles(env)
    for number in acknowledged:  # every upload that got its 201 is there, with its file
        assert f"课件{number}" in rows


def _schools_csv(tmp_path, school) -> Path:
    path = tmp_path / "schools.csv"
    path.write_text(f"学校名称,所属单位,学校代码\n{school},东城片区,A01\n", encoding="utf-8")
    return path


def _resource_titles(env) -> str:
    script = ("from reslib import create_app\nfrom reslib.models import Resource\napp = create_app()\n"
              "with app.app_context():\n    print('\\n'.join(r.title for r in Resource.query))")
    return subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60,
                          check=True).stdout


def test_check_reports_the_search_index_out_of_step_and_reindex_mends_it(app, runner, district):
    add_resource(district.teacher_a, status="published", title="勾股定理微课")  # never reached the queue
    out_of_step = runner.invoke(args=["check", "--quick"])
    assert out_of_step.exit_code == 0 and "搜索索引：缺少 1 个" in out_of_step.output
    assert "一致性检查通过" not in out_of_step.output and "搜索索引没跟上数据库" in out_of_step.output
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0 and "已索引 1 个资源" in result.output
    in_step = runner.invoke(args=["check", "--quick"]).output
    assert "搜索索引：缺少 0 个，过期 0 个，多余 0 个。" in in_step and "一致性检查通过" in in_step
