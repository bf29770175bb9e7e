"""Bulk import of catalogue records (CSV, XLSX or JSON Lines) into the district's or a school's library.

Every row is checked before anything is written: when any row is wrong nothing is imported and the
report names each bad row, so a district never half-imports a file. A record is known by its link
within the chosen library, so importing the same file again creates nothing and a changed row
updates its resource. Writes are committed in batches so other writers are not held up; an import
stopped half-way is finished by running the same file again.
"""
import json
import re
from dataclasses import dataclass, field
from functools import partial

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select, update

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.jobs import queue
from reslib.models import Resource, ReviewDecision, School, Term
from reslib.models.base import get_by_id, utcnow
from reslib.models.library import KINDS, SOURCES, TYPE_CODES, VISIBLE_STATUSES
from reslib.permissions import require
from reslib.services import audit
from reslib.services.library import METADATA_FIELDS, changed, clean_metadata, holding
from reslib.services.tables import read_table

# Our key: the headers accepted for it, the national metadata standard's Chinese name first.
COLUMNS = {
    "title": ("资源标题", "标题", "title"),
    "description": ("资源简介", "简介", "description"),
    "keywords": ("关键词", "keywords"),
    "presenters": ("主讲人", "presenters"),
    "copyright_holder": ("版权方", "copyright_holder"),
    "created_on": ("创建时间", "created_on"),
    "category": ("所属分类", "category"),
    "type_code": ("资源类型代码", "type_code"),
    "stage": ("学段", "stage"),
    "subject": ("学科", "subject"),
    "grade": ("年级", "grade"),
    "edition": ("教材版本", "edition"),
    "form": ("资源形式", "form"),
    "kind": ("资源类别", "kind"),
    "source": ("来源", "source"),
    "link_url": ("链接", "link_url", "link", "url"),
    "file": ("文件", "file"),
}
TERM_COLUMNS = {"stage": "stage_id", "subject": "subject_id", "grade": "grade_id", "edition": "edition_id",
                "form": "form_id"}
CHOICE_COLUMNS = {"kind": KINDS, "source": SOURCES, "type_code": TYPE_CODES}
TEXT_COLUMNS = ("title", "description", "keywords", "presenters", "copyright_holder", "created_on")
# The resource field each column fills, for naming the column in an error about that field.
FIELD_COLUMNS = {**{key: key for key in (*TEXT_COLUMNS, *CHOICE_COLUMNS, "link_url")}, **TERM_COLUMNS,
                 "category": "category_id"}
LABELS = {resource_field: COLUMNS[column][0] for column, resource_field in FIELD_COLUMNS.items()}

MAX_ROWS = 200_000  # rows in one file
BATCH_SIZE = 1000  # rows per commit
# Rows per search index write (a whole number of commits). Each write leaves the Whoosh index a segment,
# and merging segments costs about as much as indexing: fewer, larger writes leave fewer to merge.
INDEX_BATCH_SIZE = 10_000
# Where a record already in the library may be: withdrawn ones too, so re-importing never brings back a copy.
LIBRARY_STATUSES = (*VISIBLE_STATUSES, "withdrawn")


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (row number as the user sees it, message)
    dry_run: bool = False

    @property
    def lines(self) -> list[str]:
        return [_("第 %(n)s 行：%(msg)s", n=number, msg=message) for number, message in self.errors]


def import_records(actor, filename: str, data: bytes, *, library: str | int, dry_run: bool = False,
                   progress=None) -> ImportReport:
    """Import link resources from ``data`` into ``library`` ("district" or a school's id), owned by ``actor``.

    ``progress(step, done, total)``, when given, is called every batch while rows are checked
    (step "check") and then while they are written (step "write").
    """
    school = _library_school(library)
    require(actor, "resources.import", school)
    if getattr(actor, "id", None) is None:
        raise ReslibError(_("导入的资源须归属一个管理员账号"), field="actor")
    school_id = school.id if school else None
    rows = _read(filename, data)
    report = ImportReport(rows=len(rows), dry_run=dry_run)
    new, updates = _check(rows, _existing(school_id), report, progress)
    report.created, report.updated = len(new), len(updates)
    if report.errors or dry_run:
        return report
    audit.record("resource.imported", actor=actor, target=school or "library:district", school_id=school_id,
                 detail=_l("%(file)s：新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s", file=filename,
                           created=report.created, updated=report.updated, unchanged=report.unchanged))
    status = "school_approved" if school else "published"
    create = partial(_create, actor, school_id=school_id, status=status, filename=filename)
    batches = [(create, new[i:i + BATCH_SIZE]) for i in range(0, len(new), BATCH_SIZE)]
    batches += [(partial(_update, actor), updates[i:i + BATCH_SIZE]) for i in range(0, len(updates), BATCH_SIZE)]
    written = 0
    commits_per_index_write = max(1, INDEX_BATCH_SIZE // BATCH_SIZE)
    for first in range(0, len(batches), commits_per_index_write):
        with queue().batch():  # the batches' tasks are queued once, as the group's last commit is done
            for write, batch in batches[first:first + commits_per_index_write]:
                write(batch)
                written += len(batch)
                if progress:
                    progress("write", written, len(new) + len(updates))
    db.session.commit()  # the audit event, when every row was unchanged
    return report


def _check(rows, existing: dict, report: ImportReport, progress) -> tuple[list[dict], list[tuple[int, dict]]]:
    """Every row's errors into ``report``; the records to create, and (id, changed fields) of those to update."""
    lookup = _Lookup()
    new, updates, seen = [], [], {}
    for done, (number, cells) in enumerate(rows, start=1):
        values, errors = _clean_row(cells, lookup)
        link = values.get("link_url")
        if link in seen:
            errors.append(_("链接与第 %(n)s 行重复", n=seen[link]))
        elif link:
            seen[link] = number
        report.errors.extend((number, message) for message in errors)
        if not errors:
            current = existing.get(link)
            if current is None:
                new.append(values)
            elif difference := {name: value for name, value in values.items() if current[name] != value}:
                updates.append((current["id"], difference))
            else:
                report.unchanged += 1
        if progress and (done % BATCH_SIZE == 0 or done == len(rows)):
            progress("check", done, len(rows))
    return new, updates


def _library_school(library) -> School | None:
    if library == "district":
        return None
    school = get_by_id(School, library)
    if school is None:
        raise ReslibError(_("请选择导入到哪个资源库"), field="library")
    return school


# --- reading --------------------------------------------------------------------------------

def _read(filename: str, data: bytes) -> list[tuple[int, dict | None]]:
    """(row number, {column key: text}) for every non-empty row; None for a JSON line that is no object."""
    name = (filename or "").lower()
    if name.endswith((".jsonl", ".ndjson")):
        return _jsonl_rows(data)
    if not name.endswith((".csv", ".xlsx")):
        raise ReslibError(_("只接受 .csv、.xlsx 或 .jsonl 文件"), field="file")
    return read_table(filename, data, COLUMNS, required=("title",), max_rows=MAX_ROWS).rows


def _jsonl_rows(data: bytes) -> list[tuple[int, dict | None]]:
    """One JSON object a line, keyed by the same headers as a table; a line that is not one is a row error."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReslibError(_("JSON Lines 文件须为 UTF-8 编码"), field="file") from exc
    lookup = {alias.lower(): key for key, aliases in COLUMNS.items() for alias in aliases}
    rows = []
    # Lines end at "\n" only: a JSON string may hold U+2028 and the other breaks str.splitlines() knows.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        if len(rows) >= MAX_ROWS:
            raise ReslibError(_("一次最多导入 %(n)s 行", n=MAX_ROWS), field="file")
        try:
            cells = _json_cells(line, lookup)
        except (ValueError, RecursionError):  # not JSON, or nested deeper than Python's stack
            cells = None
        rows.append((number, cells))  # None is reported with the other rows' errors
    return rows


def _json_cells(line: str, lookup: dict) -> dict | None:
    """{column key: text} of one JSON line; None when it is not an object."""
    record = json.loads(line)
    if not isinstance(record, dict):
        return None
    cells = {}
    for name, value in record.items():
        key = lookup.get(name.strip().lower())
        if key and key not in cells:
            cells[key] = _json_text(value)
    return cells


def _json_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # "keywords": ["勾股定理", "数学"]
        return ";".join(str(part) for part in value)
    return str(value).strip()


# --- checking a row -------------------------------------------------------------------------

class _Lookup:
    """The vocabularies and choice lists, loaded once per import: names to Term ids, labels to codes."""

    def __init__(self):
        # Held here so that clean_metadata's look-ups by id find them in the session, without a query each.
        self.active_terms = active = list(db.session.scalars(select(Term).where(Term.active.is_(True))))
        self.blank = Resource()  # what clean_metadata checks a record against: no file, no section
        self.terms = {vocabulary: {t.name: t.id for t in active if t.vocabulary == vocabulary}
                      for vocabulary in TERM_COLUMNS}
        self.categories = {t.path: t.id for t in active if t.vocabulary == "category"}
        with force_locale("zh_CN"):  # files carry the standard's Chinese labels, whatever the admin's language
            self.choices = {column: {**{str(label): code for code, label in options.items()},
                                     **{code.lower(): code for code in options}}
                            for column, options in CHOICE_COLUMNS.items()}
            self.allowed = {column: "、".join(str(label) for label in options.values())
                            for column, options in CHOICE_COLUMNS.items()}


def _clean_row(cells: dict | None, lookup: _Lookup) -> tuple[dict, list[str]]:
    """The resource fields of one row, checked; and the row's error messages."""
    if cells is None:
        return {}, [_("不是有效的 JSON 对象")]
    data, errors = {"title": cells.get("title", "")}, []
    for column in TEXT_COLUMNS[1:]:
        if column in cells:
            data[column] = cells[column]
    if "created_on" in data:  # Excel gives its date cells a time of day
        data["created_on"] = re.sub(r"^(\d{4}-\d{2}-\d{2}) 00:00:00$", r"\1", data["created_on"])
    if cells.get("file"):
        errors.append(_("导入只支持链接资源，文件请在上传页面上传"))
    elif not cells.get("link_url"):
        errors.append(_("请填写链接"))
    else:
        data["link_url"] = cells["link_url"]
    for column, resource_field in TERM_COLUMNS.items():
        name = cells.get(column)
        if name is None:
            continue
        term_id = lookup.terms[column].get(name)
        if name and term_id is None:
            errors.append(_("%(column)s“%(name)s”不在词表中", column=COLUMNS[column][0], name=name))
        data[resource_field] = term_id
    if "category" in cells:
        path = "-".join(part.strip() for part in cells["category"].split("-")) if cells["category"] else ""
        data["category_id"] = lookup.categories.get(path)
        if path and data["category_id"] is None:
            errors.append(_("所属分类“%(path)s”不在分类表中", path=path))
    for column in CHOICE_COLUMNS:
        text = cells.get(column)
        if column == "type_code" and not text:
            text = "A03"  # a link resource, as create_link marks it
        if text is None:
            continue
        code = lookup.choices[column].get(text) or lookup.choices[column].get(text.lower())
        if text and code is None:
            errors.append(_("%(column)s“%(value)s”应为：%(allowed)s", column=COLUMNS[column][0], value=text,
                            allowed=lookup.allowed[column]))
        data[column] = code
    values, field_errors = clean_metadata(data, lookup.blank)
    for resource_field, message in field_errors.items():
        label = LABELS[resource_field]  # messages that name their field already are kept as they are
        errors.append(message if label in message else f"{label} {message}")
    return values, errors


# --- writing --------------------------------------------------------------------------------

def _existing(school_id) -> dict[str, dict]:
    """The library's link resources by link (the import key), with the fields a row can change."""
    fields = [getattr(Resource, name) for name in METADATA_FIELDS]
    stmt = (select(Resource.id, *fields)
            .where(Resource.link_url.is_not(None), Resource.status.in_(LIBRARY_STATUSES),
                   Resource.school_id.is_(None) if school_id is None else Resource.school_id == school_id)
            .order_by(Resource.id.desc()))  # the oldest wins when a link is there twice
    return {row.link_url: row._mapping for row in db.session.execute(stmt)}


def _create(actor, batch: list[dict], *, school_id, status: str, filename: str) -> None:
    """Bulk statements rather than one ORM object each: the import rate is what a district waits on."""
    now = utcnow()
    ids = db.session.scalars(insert(Resource).returning(Resource.id, sort_by_parameter_order=True), [
        {**values, "owner_id": actor.id, "school_id": school_id, "status": status, "published_at": now}
        for values in batch]).all()
    db.session.execute(update(Resource), [{"id": i, "lineage_id": i} for i in ids])
    # Entering a library without review is a decision too: kept with who, when and from which file.
    db.session.execute(insert(ReviewDecision), [
        {"resource_id": i, "actor_id": actor.id, "action": "import", "from_status": "draft", "to_status": status,
         "comment": filename[:200]} for i in ids])
    db.session.commit()
    _tell_plugins(actor, ids, status)


def admit(actor, resource: Resource, *, school_id: int | None, comment: str) -> None:
    """One draft of ``actor``'s (a file fetched from a catalogue) into a library without review, recorded as an
    import step as the rows of a file are: published in the district library, school-approved in a school's."""
    require(actor, "resources.import", db.session.get(School, school_id) if school_id else None)
    status = "school_approved" if school_id else "published"
    with holding(resource):
        db.session.add(ReviewDecision(resource_id=resource.id, actor_id=actor.id, action="import",
                                      from_status=resource.status, to_status=status, comment=comment[:200]))
        resource.status, resource.school_id, resource.published_at = status, school_id, utcnow()
    changed(resource, status, actor)


def _update(actor, batch: list[tuple[int, dict]]) -> None:
    now = utcnow()
    db.session.execute(update(Resource), [{"id": i, **difference, "updated_at": now} for i, difference in batch])
    db.session.commit()
    _tell_plugins(actor, [i for i, _difference in batch], "edited")


def _tell_plugins(actor, ids: list[int], change: str) -> None:
    """After the batch's commit, which expired it: one query reloads the batch rather than one per resource.
    (``import_records`` gathers the tasks plugins queue for it with those of the batches around it.)"""
    for resource in db.session.scalars(select(Resource).where(Resource.id.in_(ids))).all():
        changed(resource, change, actor)
