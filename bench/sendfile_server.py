"""The download baseline: one file sent with ``os.sendfile`` by the plainest HTTP server there is.

Run as ``python -m bench.sendfile_server FILE``: it answers every GET with FILE, prints its port once it
listens and serves until it is terminated. :func:`sendfile_server` does that from the bench.
"""
import os
import subprocess
import sys
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.common import REPO_ROOT, BenchError


@contextmanager
def sendfile_server(path: Path):
    """Serve the file at ``path`` from its own process on a free local port; yields the port."""
    # Its own process, as gunicorn is, so the server never shares an interpreter with the client.
    server = subprocess.Popen([sys.executable, "-m", "bench.sendfile_server", str(path)], cwd=REPO_ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        announced = server.stdout.readline()
        if not announced.strip().isdigit():
            server.kill()
            raise BenchError(f"the sendfile server did not start:\n{server.stderr.read()[-3000:]}")
        yield int(announced)
    finally:
        server.terminate()
        server.wait()
        server.stdout.close()
        server.stderr.close()


class _SendFile(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the app's server does

    def do_GET(self):
        with open(self.server.file_path, "rb") as file:
            size = os.fstat(file.fileno()).st_size
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            offset = 0
            while offset < size:
                offset += os.sendfile(self.connection.fileno(), file.fileno(), offset, size - offset)

    def log_message(self, format, *args):
        pass  # a line per request would only slow the baseline down


def main(file_path: str) -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), _SendFile) as server:
        server.file_path = file_path
        print(server.server_address[1], flush=True)
        server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1])
