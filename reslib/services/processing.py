"""Worker tasks: process uploaded media, sweep staging leftovers, re-verify stored files.

Untrusted media is decoded here, in the worker, never in a web process. A file that fails is marked
with the reason and kept; the queue moves on.
"""
import json
import logging
import tempfile
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from flask import current_app
from huey import crontab
from sqlalchemy import select

from reslib.extensions import db
from reslib.jobs import queue
from reslib.messages import N_
from reslib.models import Resource
from reslib.models.base import utcnow
from reslib.services.library import changed, store

log = logging.getLogger(__name__)

PROBED_KINDS = ("video", "audio", "pdf", "image")
STUCK_AFTER = timedelta(hours=1)  # "pending" this long means the enqueue was lost (a crash after commit)


def register_jobs(queue) -> None:
    queue.task("process_resource")(process_resource)
    queue.periodic("sweep_staging", crontab(minute="17"))(sweep_staging)
    queue.periodic("requeue_stuck", crontab(minute="*/10"))(requeue_stuck)
    queue.periodic("verify_files", crontab(hour="3", minute="41"))(verify_files)


def process_resource(resource_id: int) -> None:
    resource = db.session.get(Resource, resource_id)
    if resource is None or resource.processing not in ("pending", "running"):
        return  # deleted meanwhile, or already done by another run
    from reslib.services.media import MediaError

    try:
        with tempfile.TemporaryDirectory(prefix="reslib-media-") as work:
            _process(resource, Path(work))
    except MediaError as exc:
        _fail(resource, exc.message, exc.values)
    except Exception:  # a bug or an unforeseen file must not block the queue or lose the upload
        log.exception("processing resource %s failed", resource_id)
        _fail(resource, N_("处理时发生内部错误，请联系管理员重新处理"))
    changed(resource, "processed", None)


def _process(resource: Resource, work: Path) -> None:
    from reslib.services import media, qrscan  # only the worker loads the decoders

    files = store()
    # A link resource has no file; it is processed for the cover its uploader gave it.
    source = files.path(resource.file_sha256) if resource.file_sha256 else None
    kind = resource.file_kind
    probe = None
    if kind in PROBED_KINDS:
        _step(resource, "probe")
        probe = media.probe(source, kind)
        resource.probe_json = json.dumps(probe.to_dict(), ensure_ascii=False)
    if probe is not None and not resource.cover_from_uploader:
        _step(resource, "cover")
        cover = work / "cover.jpg"
        if media.make_cover(source, kind, probe, cover):
            resource.cover_sha256 = files.put_file(cover)
    if resource.cover_sha256:
        thumb = work / "thumb.jpg"
        media.make_thumbnail(files.path(resource.cover_sha256), thumb)
        resource.thumb_sha256 = files.put_file(thumb)
    target = media.rendition_target(kind, probe) if probe is not None else None
    if target:
        _step(resource, "rendition")
        rendition = work / f"rendition.{target}"
        media.make_rendition(source, rendition, target, probe, timeout=current_app.config["MEDIA_TIMEOUT_SECONDS"])
        resource.rendition_sha256 = files.put_file(rendition)
        resource.rendition_mime = {"mp4": "video/mp4", "mp3": "audio/mpeg"}[target]
    if probe is not None or resource.cover_from_uploader:
        _step(resource, "scan")
        # A cover made from the file is a copy of its first page or frame: scan only the uploader's own.
        cover_path = files.path(resource.cover_sha256) if resource.cover_from_uploader else None
        findings = qrscan.scan(source, kind, probe, cover=cover_path)
        resource.checks_json = json.dumps([asdict(f) for f in findings], ensure_ascii=False)
    resource.processing, resource.processing_step = "done", ""
    resource.processing_error = resource.processing_error_values = None
    db.session.commit()


def _step(resource: Resource, step: str) -> None:
    """Record progress where the resource page shows it."""
    resource.processing, resource.processing_step = "running", step
    db.session.commit()


def _fail(resource: Resource, message: str, values: dict | None = None) -> None:
    """Mark the resource failed, with the reason's message as in the catalogue and its values (see
    Resource.processing_failure)."""
    db.session.rollback()
    resource.processing, resource.processing_step, resource.processing_error = "failed", "", message[:500]
    resource.processing_error_values = json.dumps(values, ensure_ascii=False) if values else None
    db.session.commit()


def reprocess(resource: Resource) -> None:
    """Queue a resource again (after a fix, or when its enqueue was lost)."""
    resource.processing, resource.processing_error, resource.processing_error_values = "pending", None, None
    db.session.commit()
    queue().enqueue("process_resource", resource.id)


def requeue_stuck() -> int:
    stuck = db.session.scalars(select(Resource).where(
        Resource.processing.in_(("pending", "running")), Resource.updated_at < utcnow() - STUCK_AFTER)).all()
    for resource in stuck:
        reprocess(resource)
    return len(stuck)


def sweep_staging() -> int:
    return store().sweep_staging(current_app.config["STAGING_MAX_AGE_SECONDS"])


def verify_files() -> list[str]:
    """Re-hash every stored file; the damaged ones are logged for the operator (and `reslib check` lists them)."""
    files = store()
    damaged = [sha for sha in files.iter_blobs() if not files.verify(sha)]
    for sha in damaged:
        log.error("stored file %s no longer matches its checksum", sha)
    return damaged
