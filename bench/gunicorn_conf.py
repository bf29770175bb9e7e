"""How every bench server runs (``gunicorn --config python:bench.gunicorn_conf``): baseline and app alike."""
import os
from pathlib import Path

workers = 2
worker_class = "gthread"
threads = 4
# Each worker listens on a socket of its own and the kernel spreads connections across them. On one shared
# socket the load generator's connections, all opened at once and kept for the whole run, often all went to
# the worker that woke first, leaving the other core idle: hello-world alone then measured 1,900 or 5,400
# req/s from one run to the next, and every page figure moved threefold with it.
reuse_port = True
loglevel = "warning"
graceful_timeout = 5  # workers stuck on their way out get killed by the master after this long
# gunicorn >= 25.1 opens a control socket at one path per user, shared with every other gunicorn the
# user runs; a bench server needs none. Older versions ignore settings they do not know.
control_socket_disable = True


def post_worker_init(worker):
    # Tells the bench this worker has loaded the app: measuring starts only once every worker serves.
    Path(os.environ["BENCH_READY_DIR"], str(worker.pid)).touch()
