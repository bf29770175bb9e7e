"""Harvesting catalogues into the district's libraries: OAI-PMH 2.0 endpoints and JSON catalogues.

A run reads the whole answer first (every page, resumption tokens followed) and writes nothing until it
has: a page that is not well-formed, or carries a DTD or entities, fails the run with nothing imported.
Then each record is applied: new ones become resources of the target library, changed ones are updated,
deleted ones withdrawn, and the rest left alone, so running again changes nothing. Provenance (source,
identifier, datestamp) is kept for every harvested resource.

Link mode goes through the core's bulk importer, which checks every field as for a district's own
catalogue file, publishes without review (recorded as an import step) and tells plugins. Copy mode
fetches each file and stores it through the same upload path as a teacher's (size caps, type sniffing,
bomb checks). Harvests act as the district admin who saved the source last.

A JSON catalogue answers ``{"records": [{"identifier", "datestamp", "deleted"?, "title", "url", "subject",
"description"?, "keywords"?, "copyright_holder"?, "presenters"?, "created"?}], "next": url or null}``;
the first request carries ``from`` (the newest datestamp seen) once there is one.
"""
import json
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import unquote, urljoin, urlsplit

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from huey import crontab
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.jobs import queue
from reslib.models import Resource, School, Term, utcnow
from reslib.models.library import VISIBLE_STATUSES
from reslib.permissions import can, require
from reslib.services import audit, importer, library, review

from plugins.sync_provincial import safe_http
from plugins.sync_provincial.models import HARVEST_KINDS, HARVEST_MODES, HarvestedRecord, HarvestRun, HarvestSource

log = logging.getLogger(__name__)

OAI = "{http://www.openarchives.org/OAI/2.0/}"
DC = "{http://purl.org/dc/elements/1.1/}"
NSR = "{urn:reslib:nsr:2022}"
# The national format's fields and the resource fields they fill (see oai.national_fields).
NSR_FIELDS = {"title": "title", "description": "description", "keywords": "keywords", "presenters": "presenters",
              "copyrightHolder": "copyright_holder", "created": "created_on", "typeCode": "type_code",
              "url": "link_url"}
JSON_FIELDS = {"title": "title", "description": "description", "keywords": "keywords", "presenters": "presenters",
               "copyright_holder": "copyright_holder", "created": "created_on", "url": "link_url"}
MAX_PAGES = 10_000  # a source that never stops handing out tokens is a broken one
BACKOFF_FIRST = timedelta(minutes=5)
BACKOFF_MAX = timedelta(hours=24)
STUCK_AFTER = timedelta(hours=6)  # a run "running" longer than this died with its worker
NOTES_MAX = 200  # record errors and warnings kept per run
RUN_TASK = "sync_provincial.harvest_source"


class HarvestFailed(ReslibError):
    """The run cannot go on; nothing further of it is applied."""


@dataclass
class Tally:
    """What a run did, kept apart from the session: a record's rollback must not undo the others' counts."""
    added: int = 0
    updated: int = 0
    withdrawn: int = 0
    unchanged: int = 0
    errors: int = 0  # records refused; the others were harvested
    warnings: int = 0
    notes: list[str] = field(default_factory=list)  # each error and warning, naming its record

    def error(self, record: "Record", message: str) -> None:
        self.errors += 1
        self.notes.append(f"{record.identifier}：{message}")


@dataclass
class Record:
    identifier: str
    datestamp: str
    deleted: bool = False
    fields: dict = field(default_factory=dict)  # resource field: text, as the importer's JSON Lines take them
    categories: list[str] = field(default_factory=list)  # their category values, the first mapped one is used


# --- running ---------------------------------------------------------------------------------------

def due_sources() -> list[int]:
    now = utcnow()
    return list(db.session.scalars(select(HarvestSource.id).where(
        HarvestSource.enabled.is_(True),
        (HarvestSource.next_run_at.is_(None)) | (HarvestSource.next_run_at <= now)).order_by(HarvestSource.id)))


def run_due() -> None:
    """The periodic job: every source that is due, one after the other; one source's bug stops no other."""
    for source_id in due_sources():
        try:
            run_source(source_id)
        except Exception:
            log.exception("harvest of source %s failed", source_id)


def run_source(source_id: int) -> HarvestRun | None:
    """Harvest one source now, recording the run; None when the source is gone or already being harvested."""
    source = db.session.get(HarvestSource, source_id)
    if source is None or _running(source):
        return None
    run = HarvestRun(source=source)
    db.session.add(run)
    db.session.commit()
    tally = Tally()
    try:
        _check_account(source)
        records = fetch(source)
        apply(source, records, tally)
    except Exception as exc:
        db.session.rollback()
        _finish(source, run, tally, error=_reason(exc))
        if not isinstance(exc, (ReslibError, HTTPException)):
            raise  # a bug: on the run's page, and in the worker's log with its traceback
    else:
        newest = max((record.datestamp for record in records), default=None)
        if newest and (source.last_datestamp is None or newest > source.last_datestamp):
            source.last_datestamp = newest
        _finish(source, run, tally)
    return run


def _running(source: HarvestSource) -> bool:
    """A run of the source still going (the periodic job and 立即采集 at once harvest it once)."""
    return db.session.scalar(select(HarvestRun.id).where(
        HarvestRun.source_id == source.id, HarvestRun.status == "running",
        HarvestRun.started_at > utcnow() - STUCK_AFTER)) is not None


def _check_account(source: HarvestSource) -> None:
    account = source.account
    if not (can(account, "district.manage") and can(account, "resources.import", source.school)):
        raise HarvestFailed(_("采集源由 %(name)s 保存，该账号已停用或不再是区级管理员，请由区级管理员重新保存采集源",
                              name=account.username))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ReslibError):
        return exc.message
    if isinstance(exc, HTTPException):
        return _("采集源的账号无权写入目标资源库")
    return _("程序错误：%(error)s", error=type(exc).__name__)


def _finish(source: HarvestSource, run: HarvestRun, tally: Tally, *, error: str | None = None) -> None:
    now = utcnow()
    run.finished_at, run.status, run.error = now, "failed" if error else "ok", error or ""
    for count in ("added", "updated", "withdrawn", "unchanged", "errors", "warnings"):
        setattr(run, count, getattr(tally, count))
    run.notes = "\n".join(tally.notes[:NOTES_MAX])
    if error:
        source.failures += 1
        source.next_run_at = now + min(BACKOFF_FIRST * 2 ** (source.failures - 1), BACKOFF_MAX)
    else:
        source.failures = 0
        source.next_run_at = now + timedelta(hours=source.interval_hours)
    db.session.commit()


# --- reading a source ------------------------------------------------------------------------------

def fetch(source: HarvestSource) -> list[Record]:
    """Every record the source has for us since its last run, newest version of each, or HarvestFailed."""
    records = _oai_records(source) if source.kind == "oai" else _json_records(source)
    latest = {record.identifier: record for record in records}  # a later page carries the later version
    return list(latest.values())


def _oai_records(source: HarvestSource) -> list[Record]:
    params = {"verb": "ListRecords", "metadataPrefix": source.metadata_prefix}
    if source.set_spec:
        params["set"] = source.set_spec
    if source.last_datestamp:
        params["from"] = _from_value(source)
    records, tokens = [], set()
    for _page in range(MAX_PAGES):
        listing = _oai_answer(source.base_url, params, "ListRecords")
        if listing is None:  # noRecordsMatch: nothing changed since the last run
            return records
        records += [_oai_record(element, source.metadata_prefix) for element in listing.iter(f"{OAI}record")]
        token = (listing.findtext(f"{OAI}resumptionToken") or "").strip()
        if not token:
            return records
        if token in tokens:
            raise HarvestFailed(_("数据源重复发出同一个 resumptionToken，已停止"))
        tokens.add(token)
        params = {"verb": "ListRecords", "resumptionToken": token}
    raise HarvestFailed(_("数据源的分页超过 %(n)s 页，已停止", n=MAX_PAGES))


def _from_value(source: HarvestSource) -> str:
    """The last datestamp at the granularity the source announces (day-only sources refuse seconds)."""
    identify = _oai_answer(source.base_url, {"verb": "Identify"}, "Identify")
    granularity = (identify.findtext(f"{OAI}granularity") or "").strip() if identify is not None else ""
    return source.last_datestamp[:10] if granularity == "YYYY-MM-DD" else source.last_datestamp


def _oai_answer(url: str, params: dict, verb: str):
    """The verb's element of the answer; None for noRecordsMatch; HarvestFailed for any other OAI error."""
    root = parse_xml(safe_http.get(url, params=params).body)
    if root.tag != f"{OAI}OAI-PMH":
        raise HarvestFailed(_("数据源的应答不是 OAI-PMH 格式"))
    for error in root.iter(f"{OAI}error"):
        if error.get("code") == "noRecordsMatch":
            return None
        raise HarvestFailed(_("数据源报告错误 %(code)s：%(message)s", code=error.get("code"),
                              message=(error.text or "").strip()[:200]))
    element = root.find(f"{OAI}{verb}")
    if element is None:
        raise HarvestFailed(_("数据源的应答中没有 %(verb)s", verb=verb))
    return element


def parse_xml(body: bytes):
    """The document, parsed with DTDs and entities refused (no XXE, no billion laughs)."""
    try:
        return ElementTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise HarvestFailed(_("数据源的应答含有 DTD 或实体定义，出于安全已拒绝")) from exc
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise HarvestFailed(_("数据源的应答不是有效的 XML：第 %(line)s 行第 %(column)s 个字符附近有误", line=line,
                              column=column + 1)) from exc


def _oai_record(element, prefix: str) -> Record:
    header = element.find(f"{OAI}header")
    if header is None or not (header.findtext(f"{OAI}identifier") or "").strip():
        raise HarvestFailed(_("数据源的记录缺少 header 或 identifier"))
    record = Record(identifier=header.findtext(f"{OAI}identifier").strip(),
                    datestamp=(header.findtext(f"{OAI}datestamp") or "").strip(),
                    deleted=header.get("status") == "deleted")
    metadata = element.find(f"{OAI}metadata")
    if record.deleted or metadata is None:
        return record
    if prefix == "nsr":
        nsr = metadata.find(f"{NSR}resource")
        if nsr is not None:
            record.fields = {ours: (nsr.findtext(f"{NSR}{theirs}") or "").strip()
                             for theirs, ours in NSR_FIELDS.items() if nsr.find(f"{NSR}{theirs}") is not None}
            record.categories = [(nsr.findtext(f"{NSR}category") or "").strip()]
    else:
        values = {name: [(e.text or "").strip() for e in metadata.iter(f"{DC}{name}") if (e.text or "").strip()]
                  for name in ("title", "description", "subject", "rights", "date", "identifier")}
        links = [value for value in values["identifier"] if value.startswith(("http://", "https://"))]
        record.fields = {"title": _first(values["title"]), "description": _first(values["description"]),
                         "keywords": ";".join(values["subject"]), "copyright_holder": _first(values["rights"]),
                         "created_on": _first(values["date"]), "link_url": _first(links)}
        record.categories = values["subject"]
    record.fields["created_on"] = _day(record.fields.get("created_on", ""))
    return record


def _first(values: list[str]) -> str:
    return values[0] if values else ""


def _day(text: str) -> str:
    """A date the importer takes (yyyy-mm-dd), from a date or a datestamp; anything else is left out."""
    day = text[:10]
    return day if len(day) == 10 and day[4] == day[7] == "-" and (day[:4] + day[5:7] + day[8:]).isdigit() else ""


def _json_records(source: HarvestSource) -> list[Record]:
    url, params, records = source.base_url, {"from": source.last_datestamp} if source.last_datestamp else None, []
    for _page in range(MAX_PAGES):
        try:
            answer = json.loads(safe_http.get(url, params=params).body)
        except (ValueError, RecursionError) as exc:
            raise HarvestFailed(_("数据源的应答不是有效的 JSON")) from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("records"), list):
            raise HarvestFailed(_("数据源的应答中没有 records 列表"))
        records += [_json_record(item) for item in answer["records"]]
        following = answer.get("next")
        if not following:
            return records
        if not isinstance(following, str):
            raise HarvestFailed(_("数据源的 next 应为网址或 null"))
        url, params = urljoin(url, following), None
    raise HarvestFailed(_("数据源的分页超过 %(n)s 页，已停止", n=MAX_PAGES))


def _json_record(item) -> Record:
    if not isinstance(item, dict) or not str(item.get("identifier") or "").strip():
        raise HarvestFailed(_("数据源的记录缺少 identifier"))
    record = Record(identifier=str(item["identifier"]).strip(), datestamp=str(item.get("datestamp") or "").strip(),
                    deleted=item.get("deleted") is True)
    if not record.deleted:
        record.fields = {ours: _text(item[theirs]) for theirs, ours in JSON_FIELDS.items() if theirs in item}
        record.fields["created_on"] = _day(record.fields.get("created_on", ""))
        record.categories = [_text(item.get("subject"))]
    return record


def _text(value) -> str:
    if isinstance(value, list):
        return ";".join(str(part).strip() for part in value)
    return "" if value is None else str(value).strip()


# --- category mapping ------------------------------------------------------------------------------

def parse_mapping(text: str) -> dict[str, str]:
    """Their category → our category path: a JSON object, or lines ``their value = our path`` (# comments)."""
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            mapping = json.loads(text)
        except ValueError as exc:
            raise ReslibError(_("分类对照不是有效的 JSON"), field="category_mapping") from exc
        if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
            raise ReslibError(_("分类对照的 JSON 应为 {\"对方分类\": \"本区分类路径\"}"), field="category_mapping")
        return {str(theirs).strip(): ours.strip() for theirs, ours in mapping.items()}
    mapping = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        theirs, equals, ours = line.partition("=")
        if not equals or not theirs.strip() or not ours.strip():
            raise ReslibError(_("分类对照第 %(n)s 行应写成“对方分类 = 本区分类路径”", n=number),
                              field="category_mapping")
        mapping[theirs.strip()] = ours.strip()
    return mapping


def category_paths() -> set[str]:
    return {term.path for term in db.session.scalars(select(Term).where(Term.vocabulary == "category",
                                                                      Term.active.is_(True)))}


def check_mapping(text: str) -> None:
    """Refuse a mapping onto a category the district does not have (it would refuse every such record)."""
    unknown = sorted(set(parse_mapping(text).values()) - category_paths())
    if unknown:
        raise ReslibError(_("本区没有这些分类：%(paths)s", paths="、".join(unknown)), field="category_mapping")


def _category(record: Record, mapping: dict, tally: Tally) -> str:
    """Our category path for the record, or "" (with a warning when it had one we cannot map)."""
    theirs = [value for value in record.categories if value]
    for value in theirs:
        if value in mapping:
            return mapping[value]
    if theirs:
        tally.warnings += 1
        tally.notes.append(_("%(id)s：分类“%(value)s”没有对照，已留空", id=record.identifier, value=theirs[0]))
    return ""


# --- applying records ------------------------------------------------------------------------------

def apply(source: HarvestSource, records: list[Record], tally: Tally) -> None:
    known = {row.identifier: row for row in db.session.scalars(
        select(HarvestedRecord).where(HarvestedRecord.source_id == source.id))}
    changed = []
    for record in records:
        provenance = known.get(record.identifier)
        if record.deleted:
            _withdraw(source, record, provenance, tally)
        elif provenance is not None and provenance.datestamp == record.datestamp:
            tally.unchanged += 1  # the source says it has not changed since we took it
        else:
            changed.append(record)
    if source.mode == "link":
        _import_links(source, changed, known, tally)
    else:
        for record in changed:
            _copy(source, record, known.get(record.identifier), tally)
    db.session.commit()


def _withdraw(source: HarvestSource, record: Record, provenance: HarvestedRecord | None, tally: Tally) -> None:
    resource = db.session.get(Resource, provenance.resource_id) if provenance else None
    if resource is None or resource.status not in VISIBLE_STATUSES:
        tally.unchanged += 1  # never taken, or already out of the library
        return
    provenance.datestamp = record.datestamp  # committed with the withdrawal
    review.withdraw(source.account, resource, _("采集源“%(name)s”已删除这条记录", name=source.name))
    tally.withdrawn += 1


def _library_links(source: HarvestSource) -> dict[str, int]:
    """The target library's link resources by link, as the importer finds them (the oldest wins)."""
    stmt = (select(Resource.link_url, Resource.id)
            .where(Resource.link_url.is_not(None), Resource.status.in_(importer.LIBRARY_STATUSES),
                   Resource.school_id.is_(None) if source.school_id is None else Resource.school_id == source.school_id)
            .order_by(Resource.id.desc()))
    return dict(db.session.execute(stmt).all())


def _import_links(source: HarvestSource, records: list[Record], known: dict, tally: Tally) -> None:
    """Through the importer, twice: a dry run names the records it refuses, then the others are imported.
    The importer knows a record by its link within the library: a link held by a resource another record
    (of any source) brought in is refused, one nobody harvested is taken over, as an import would."""
    if not records:
        return
    mapping, links = parse_mapping(source.category_mapping), _library_links(source)
    claimed = {row.resource_id: (row.source_id, row.identifier) for row in db.session.execute(
        select(HarvestedRecord.resource_id, HarvestedRecord.source_id, HarvestedRecord.identifier)
        .where(HarvestedRecord.resource_id.in_(links.values())))}
    rows = []
    for record in records:
        holder = links.get(record.fields.get("link_url"))
        other = claimed.get(holder)
        if other is not None and other != (source.id, record.identifier):
            tally.error(record, _("链接已属于另一条采集记录（%(other)s）", other=other[1]))
            continue
        rows.append((record, {**_limited(record.fields), "category": _category(record, mapping, tally)}))
    library_key = source.school_id or "district"
    name = f"{source.name}.jsonl"  # the import step's comment on each resource names the source
    check = importer.import_records(source.account, name, _jsonl(rows), library=library_key, dry_run=True)
    refused = dict(check.errors)  # line number (one record a line) → message
    for number, message in refused.items():
        tally.error(rows[number - 1][0], message)
    rows = [row for number, row in enumerate(rows, start=1) if number not in refused]
    if not rows:
        return
    report = importer.import_records(source.account, name, _jsonl(rows), library=library_key)
    links = _library_links(source)
    relinked = 0
    for record, values in rows:
        resource_id = links[values["link_url"]]
        provenance = known.get(record.identifier)
        if provenance is None:
            db.session.add(HarvestedRecord(resource_id=resource_id, source_id=source.id,
                                           identifier=record.identifier, datestamp=record.datestamp))
            continue
        provenance.datestamp = record.datestamp
        if provenance.resource_id != resource_id:  # the record moved to a new link: the old resource goes
            relinked += 1
            old_id, provenance.resource_id = provenance.resource_id, resource_id
            _retire(source, old_id, resource_id)
    tally.added += report.created - relinked
    tally.updated += report.updated + relinked
    tally.unchanged += report.unchanged


def _retire(source: HarvestSource, old_id: int, new_id: int) -> None:
    """Withdraw the resource a record used to link to (the provenance changes so far commit with it)."""
    old = db.session.get(Resource, old_id)
    if old is not None and old.status in VISIBLE_STATUSES:
        review.withdraw(source.account, old, _("采集源“%(name)s”中的这条记录换了链接，由编号 %(id)s 取代",
                                               name=source.name, id=new_id))


def _limited(fields: dict) -> dict:
    """Text cut to the core's lengths: a long description from a platform should not cost the record."""
    return {name: value[:library.TEXT_FIELDS[name]] if name in library.TEXT_FIELDS else value
            for name, value in fields.items()}


def _jsonl(rows: list[tuple[Record, dict]]) -> bytes:
    return "\n".join(json.dumps(values, ensure_ascii=False) for _record, values in rows).encode()


# --- copy mode -------------------------------------------------------------------------------------

def _copy(source: HarvestSource, record: Record, provenance: HarvestedRecord | None, tally: Tally) -> None:
    """A new record: its file fetched and stored as an upload, then published; a changed one: its metadata."""
    fields = _limited({name: value for name, value in record.fields.items() if name not in ("link_url", "type_code")})
    fields["category_id"] = _category_id(_category(record, parse_mapping(source.category_mapping), tally))
    resource = db.session.get(Resource, provenance.resource_id) if provenance else None
    try:
        if resource is None:
            resource = _copy_file(record, source.account)
            try:
                library.update_metadata(source.account, resource, fields)  # the draft is the account's own
            except ReslibError:
                library.delete_draft(source.account, resource)
                raise
            importer.admit(source.account, resource, school_id=source.school_id,
                           comment=_("采集：%(name)s", name=source.name))
            db.session.add(HarvestedRecord(resource_id=resource.id, source_id=source.id,
                                           identifier=record.identifier, datestamp=record.datestamp))
            tally.added += 1
        else:
            if _update_published(source, resource, fields):
                tally.updated += 1
            else:
                tally.unchanged += 1
            provenance.datestamp = record.datestamp
        db.session.commit()
    except ReslibError as exc:
        db.session.rollback()
        tally.error(record, exc.message)


def _category_id(path: str) -> int | None:
    terms = db.session.scalars(select(Term).where(Term.vocabulary == "category", Term.active.is_(True)))
    return next((term.id for term in terms if term.path == path), None) if path else None


def _copy_file(record: Record, account) -> Resource:
    """The record's file, fetched within the caps and stored as a draft of ``account``'s by the upload path."""
    url = record.fields.get("link_url") or ""
    if not url:
        raise ReslibError(_("记录没有文件网址，无法复制"))
    caps = current_app.config["UPLOAD_MAX_BYTES"]
    with tempfile.TemporaryFile() as file:
        safe_http.get(url, max_bytes=max(caps.values()), total_seconds=current_app.config["HARVEST_FILE_SECONDS"],
                      into=file)
        file.seek(0)
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or record.fields.get("title", "")
        return library.create_from_upload(account, file, name)


def _update_published(source: HarvestSource, resource: Resource, fields: dict) -> bool:
    """The record's metadata, checked as any edit is, onto the copied resource; False when nothing differs."""
    values, errors = library.clean_metadata(fields, resource)
    if errors:
        raise library.MetadataInvalid(errors)
    difference = {name: value for name, value in values.items() if getattr(resource, name) != value}
    if not difference:
        return False
    with library.holding(resource):
        for name, value in difference.items():
            setattr(resource, name, value)
    library.changed(resource, "edited", source.account)
    return True


# --- the district admin's settings ---------------------------------------------------------------

SOURCE_FIELDS = ("name", "kind", "base_url", "metadata_prefix", "set_spec", "mode", "school_id",
                 "category_mapping", "interval_hours", "enabled")


def save_source(actor, source: HarvestSource | None, data: dict) -> HarvestSource:
    """Add (``source`` None) or change a source; everything checked first. Harvests then act as ``actor``."""
    require(actor, "district.manage")
    values = _clean_source(data)
    added = source is None
    if added:
        source = HarvestSource(**values, account_id=actor.id)
        db.session.add(source)
    else:
        moved = any(getattr(source, name) != values[name] for name in ("kind", "base_url", "metadata_prefix",
                                                                        "set_spec", "school_id"))
        for name, value in values.items():
            setattr(source, name, value)
        source.account_id = actor.id
        if moved:  # another catalogue, or another part of it: start again from its beginning
            source.last_datestamp = None
        if source.enabled:
            source.failures, source.next_run_at = 0, None  # saved settings are tried at once
    db.session.flush()
    audit.record("sync_provincial.harvest_source_saved", actor=actor, target=f"harvest_source:{source.id}",
                 detail=_l("%(verb)s采集源“%(name)s”：%(url)s", verb=_l("新增") if added else _l("修改"),
                           name=source.name, url=source.base_url))
    db.session.commit()
    return source


def _clean_source(data: dict) -> dict:
    values = {name: str(data.get(name) or "").strip() for name in SOURCE_FIELDS if name not in ("enabled",)}
    if not values["name"] or len(values["name"]) > 100:
        raise ReslibError(_("请填写名称（不超过 100 个字）"), field="name")
    if values["kind"] not in HARVEST_KINDS:
        raise ReslibError(_("请从列表中选择"), field="kind")
    values["base_url"] = library.check_link(values["base_url"])
    if values["kind"] == "oai" and values["metadata_prefix"] not in ("nsr", "oai_dc"):
        raise ReslibError(_("元数据格式应为 nsr 或 oai_dc"), field="metadata_prefix")
    if values["mode"] not in HARVEST_MODES:
        raise ReslibError(_("请从列表中选择"), field="mode")
    if len(values["set_spec"]) > 200:
        raise ReslibError(_("不能超过 %(n)s 个字", n=200), field="set_spec")
    school = values["school_id"]
    if school in ("", "district"):
        values["school_id"] = None
    elif not school.isdigit() or db.session.get(School, int(school)) is None:
        raise ReslibError(_("请选择采集到哪个资源库"), field="school_id")
    else:
        values["school_id"] = int(school)
    hours = values["interval_hours"]
    if not hours.isdigit() or not 1 <= int(hours) <= 24 * 31:
        raise ReslibError(_("间隔应为 1 到 744 之间的整数（小时）"), field="interval_hours")
    values["interval_hours"] = int(hours)
    check_mapping(values["category_mapping"])
    values["enabled"] = bool(data.get("enabled"))
    return values


def request_run(actor, source: HarvestSource) -> None:
    """立即采集: the worker harvests the source next, whatever its schedule."""
    require(actor, "district.manage")
    audit.record("sync_provincial.harvest_requested", actor=actor, target=f"harvest_source:{source.id}",
                 detail=source.name)
    db.session.commit()
    queue().enqueue(RUN_TASK, source.id)


def register_jobs(job_queue) -> None:
    job_queue.task(RUN_TASK)(run_source)
    job_queue.periodic("sync_provincial.harvest_due", crontab(minute="*/10"))(run_due)


# --- what the pages show ---------------------------------------------------------------------------

def provenance_of(resource: Resource) -> HarvestedRecord | None:
    return db.session.scalar(select(HarvestedRecord).where(HarvestedRecord.resource_id == resource.id))


def failing_sources() -> list[HarvestSource]:
    return list(db.session.scalars(select(HarvestSource).where(HarvestSource.enabled.is_(True),
                                                               HarvestSource.failures > 0)
                                   .order_by(HarvestSource.name)))
