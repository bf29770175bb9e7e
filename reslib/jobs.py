"""The background queue: huey on a SQLite file by default, on Redis when several servers share it.

Web requests only enqueue, after their transaction commits; `reslib worker` runs the tasks.
Plugins add tasks through the ``register_jobs`` hook.
"""
import logging
import os
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from functools import wraps

from huey import RedisHuey, SqliteHuey, crontab

from reslib.models.base import utcnow

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 60  # how often a running worker notes that it is alive
_LAST_SEEN_KEY = "reslib.worker_last_seen"  # where: in the queue's own storage, which every server reads


class JobQueue:
    """The app's queue: named tasks that run inside the app's context."""

    def __init__(self, app):
        self.app = app
        url = app.config.get("QUEUE_URL")
        if url and url.startswith("redis://"):
            self.huey = RedisHuey("reslib", url=url, results=False)
        else:
            self.huey = SqliteHuey("reslib", filename=url or os.path.join(app.instance_path, "queue.db"), results=False)
        self.tasks = {}
        self._batched = set()  # names of the tasks that take a list of items
        self._gathering = threading.local()  # per thread: {task name: [items]} inside batch(), else None

    def task(self, name: str, *, batched: bool = False, **options):
        """Decorator: register ``fn`` as the task ``name``; it runs in an app context in the worker.

        A ``batched`` task takes one argument, a list of items: ``enqueue(name, item)`` queues it with
        that one item, or, inside ``batch()``, adds the item to a list queued once when the block ends,
        so a bulk change costs the worker one run instead of one per item."""

        def decorator(fn):
            self.tasks[name] = self.huey.task(name=name, **options)(self._in_app(fn))
            if batched:
                self._batched.add(name)
            return fn

        return decorator

    def periodic(self, name: str, schedule: crontab):
        """Decorator: run ``fn`` on the worker at every ``schedule`` (a huey ``crontab``)."""

        def decorator(fn):
            self.tasks[name] = self.huey.periodic_task(schedule, name=name)(self._in_app(fn))
            return fn

        return decorator

    def enqueue(self, name: str, *args) -> None:
        """Queue the task ``name``; call only after the change it works on is committed."""
        if name not in self._batched:
            self.tasks[name](*args)
            return
        (item,) = args
        gathered = getattr(self._gathering, "tasks", None)
        if gathered is None:
            self.tasks[name]([item])
        else:
            gathered.setdefault(name, []).append(item)

    @contextmanager
    def batch(self):
        """Within the block, gather the items of batched tasks; at its end (even by an error: what was
        enqueued follows a commit) queue each such task once with its items. Nested blocks join the outer one."""
        if getattr(self._gathering, "tasks", None) is not None:
            yield
            return
        self._gathering.tasks = {}
        try:
            yield
        finally:
            gathered, self._gathering.tasks = self._gathering.tasks, None
            for name, items in gathered.items():
                self.tasks[name](items)

    def run_pending(self) -> int:
        """Run every queued task here and now (the worker's job; used by ``reslib worker --drain`` and tests)."""
        count = 0
        while (queued := self.huey.dequeue()) is not None:
            self.huey.execute(queued)
            count += 1
        return count

    def pending_count(self) -> int:
        return self.huey.pending_count()

    def note_worker_alive(self) -> None:
        self.huey.put(_LAST_SEEN_KEY, utcnow().isoformat())

    def keep_noting_worker_alive(self) -> None:
        """The worker's heartbeat, run in a thread of its own: not a queued task, which would wait behind
        half an hour of video encoding on a busy day and make a busy worker look stopped."""
        while True:
            try:
                self.note_worker_alive()
            except Exception:  # the queue's storage out of reach a moment (Redis restarting): the next beat may land
                log.exception("worker heartbeat not noted")
            time.sleep(HEARTBEAT_SECONDS)

    def worker_last_seen(self) -> datetime | None:
        """When a worker last noted it was running (naive UTC); None if none ever has."""
        seen = self.huey.get(_LAST_SEEN_KEY, peek=True)
        return datetime.fromisoformat(seen) if seen else None

    def _in_app(self, fn):
        @wraps(fn)
        def run(*args):
            with self.app.app_context():
                return fn(*args)

        return run


def init_app(app) -> JobQueue:
    from reslib.services import processing  # the core's own tasks

    queue = JobQueue(app)
    processing.register_jobs(queue)
    app.extensions["reslib.plugins"].hook.register_jobs(queue=queue)
    app.extensions["reslib.queue"] = queue
    return queue


def queue() -> JobQueue:
    from flask import current_app

    return current_app.extensions["reslib.queue"]
