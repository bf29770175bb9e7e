"""Keeps the search index in step with the libraries: every committed change to a resource queues its
re-indexing for the worker, the index's one writer."""
from reslib import hookimpl
from reslib.services import search


@hookimpl
def resource_changed(resource, change, actor):
    search.queue_sync(resource, change)


@hookimpl
def register_jobs(queue):
    search.register_jobs(queue)
