"""The background queue: huey on a SQLite file by default, on Redis when several servers share it.

Web requests only enqueue, after their transaction commits; `reslib worker` runs the tasks.
Plugins add tasks through the ``register_jobs`` hook.
"""
import os
from functools import wraps

from huey import RedisHuey, SqliteHuey, crontab


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

    def task(self, name: str, **options):
        """Decorator: register ``fn`` as the task ``name``; it runs in an app context in the worker."""

        def decorator(fn):
            self.tasks[name] = self.huey.task(name=name, **options)(self._in_app(fn))
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
        self.tasks[name](*args)

    def run_pending(self) -> int:
        """Run every queued task here and now (the worker's job; used by ``reslib worker --drain`` and tests)."""
        count = 0
        while (queued := self.huey.dequeue()) is not None:
            self.huey.execute(queued)
            count += 1
        return count

    def pending_count(self) -> int:
        return self.huey.pending_count()

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
