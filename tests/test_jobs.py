"""The background queue: tasks run in the worker, batched tasks gather their items inside ``batch()``."""
import pytest

from reslib import hookimpl
from reslib.jobs import queue


class Tasks:
    """One plain task and one batched task, recording each run's arguments."""

    def __init__(self):
        self.runs = []

    @hookimpl
    def register_jobs(self, queue):
        queue.task("test.note")(lambda text: self.runs.append(("note", text)))
        queue.task("test.index", batched=True)(lambda items: self.runs.append(("index", items)))


@pytest.fixture
def tasks():
    return Tasks()


@pytest.fixture
def app_config(tasks):
    return {"EXTRA_PLUGINS": [tasks]}


def test_a_batched_task_queued_alone_runs_with_its_one_item(app, tasks):
    queue().enqueue("test.index", 7)
    queue().enqueue("test.index", 8)
    assert queue().run_pending() == 2
    assert tasks.runs == [("index", [7]), ("index", [8])]


def test_inside_a_batch_items_are_gathered_into_one_run_and_plain_tasks_are_untouched(app, tasks):
    with queue().batch():
        queue().enqueue("test.index", 1)
        queue().enqueue("test.note", "照常")
        with queue().batch():  # joins the outer batch
            queue().enqueue("test.index", 2)
        queue().enqueue("test.index", 3)
        assert queue().pending_count() == 1  # only the plain task so far
    assert queue().run_pending() == 2
    assert sorted(tasks.runs) == [("index", [1, 2, 3]), ("note", "照常")]


def test_a_batch_ended_by_an_error_still_queues_what_it_gathered(app, tasks):
    with pytest.raises(RuntimeError):
        with queue().batch():
            queue().enqueue("test.index", 1)
            raise RuntimeError("第二批出错")
    queue().run_pending()
    assert tasks.runs == [("index", [1])]
    queue().enqueue("test.index", 2)  # and the next enqueue is no longer gathered
    queue().run_pending()
    assert tasks.runs[-1] == ("index", [2])
