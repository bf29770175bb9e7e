"""`reslib check`: does every resource row have its files, does every stored file match its checksum,
and is anything left half-written in staging?"""
from dataclasses import dataclass, field

from sqlalchemy import select

from reslib.extensions import db
from reslib.models import Resource
from reslib.services.library import store

FILE_COLUMNS = ("file_sha256", "cover_sha256", "thumb_sha256", "rendition_sha256")


@dataclass
class Report:
    resources: int = 0
    files: int = 0
    missing: list[str] = field(default_factory=list)  # "resource 12: file_sha256 …" — a row without its file
    damaged: list[str] = field(default_factory=list)  # stored files whose content no longer matches the name
    unreferenced: list[str] = field(default_factory=list)  # stored files no row uses (a crash before commit)
    staging: int = 0  # leftovers of interrupted uploads still in staging
    swept: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.damaged)


def check(*, verify=True, sweep_older_than: float | None = None) -> Report:
    files = store()
    report = Report()
    if sweep_older_than is not None:
        report.swept = files.sweep_staging(sweep_older_than)
    report.staging = files.staging_count()
    referenced = set()
    for row in db.session.execute(select(Resource.id, *(getattr(Resource, c) for c in FILE_COLUMNS))):
        report.resources += 1
        for column, sha in zip(FILE_COLUMNS, row[1:]):
            if sha is None:
                continue
            referenced.add(sha)
            if not files.exists(sha):
                report.missing.append(f"resource {row.id}: {column} {sha}")
    for sha in files.iter_blobs():
        report.files += 1
        if verify and not files.verify(sha):
            report.damaged.append(sha)
        if sha not in referenced:
            report.unreferenced.append(sha)
    return report
