"""Settings gunicorn reads when started from this folder (``make run``, docs/operations.md)."""
import faulthandler


def post_fork(server, worker):
    # A worker killed by a crash in C code (SIGSEGV, SIGBUS, SIGABRT) writes every thread's Python traceback
    # to stderr, gunicorn's log, before it dies: otherwise the log holds only the master's "was sent SIGSEGV".
    faulthandler.enable()


def post_worker_init(worker):
    # Each web worker reads the search index ahead in a thread of its own, so no visitor's first search
    # waits for it. Imported here: gunicorn loads this file before the app.
    from reslib.services.search import keep_warm

    keep_warm(worker.wsgi)
