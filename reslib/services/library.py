"""Resources: drafts from uploads and links, metadata, submission, new versions, and who sees what."""
import re
from contextlib import contextmanager
from datetime import date
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from reslib import national
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.jobs import queue
from reslib.models import Resource, Term
from reslib.models.accounts import shown_by_name
from reslib.models.base import get_by_id, hold_status
from reslib.models.library import KINDS, LICENCES, SOURCES, STATUSES, TYPE_CODES, VISIBLE_STATUSES
from reslib.permissions import can, require
from reslib.plugins import hooks
from reslib.services import audit
from reslib.services.storage import BlobStore


class MetadataInvalid(ReslibError):
    """Several fields are wrong at once; ``errors`` maps each field to its message."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items()))
        super().__init__(message, code="invalid_metadata", field=field, status=422)
        self.errors = errors

    def to_dict(self) -> dict:
        return {**super().to_dict(), "fields": self.errors}


class StateChanged(ReslibError):
    """The resource left the status a step was checked against: another admin, or the same person in
    another tab, took a step first. Nothing of this step was kept."""

    def __init__(self, status_label: str):
        super().__init__(_("这个资源刚刚已被处理，现在是“%(status)s”（可能是其他管理员，或你在另一个窗口中的操作）。"
                           "这一步没有执行，请看它现在的状态再决定。", status=status_label),
                         code="conflict", status=409)


def store() -> BlobStore:
    app = current_app
    return BlobStore(app.config.get("STORAGE_PATH") or f"{app.instance_path}/files")


# What a page showing the whole resource reads of it: loaded in the same query, not one query each.
_DETAILS = [
    shown_by_name(Resource.owner), joinedload(Resource.school), joinedload(Resource.form), joinedload(Resource.stage),
    joinedload(Resource.subject), joinedload(Resource.grade_term), joinedload(Resource.edition),
    joinedload(Resource.category),
]


def get_resource(resource_id, *, details: bool = False) -> Resource:
    """The resource or a 404; ``details`` also loads its owner, school and terms, for a page showing them."""
    resource = db.session.get(Resource, resource_id, options=_DETAILS if details else None)
    if resource is None:
        raise ReslibError(_("没有这个资源"), code="not_found", status=404)
    return resource


def changed(resource: Resource, change: str, actor) -> None:
    """Tell plugins, after the commit, what happened to ``resource``."""
    hooks().resource_changed(resource=resource, change=change, actor=actor)


def hold(resource: Resource) -> None:
    """Hold the resource's row until this transaction ends (``hold_status``), provided its status is still
    the one the step was checked against; else roll back and raise StateChanged. Holding it again in the
    same transaction (a step that held it early, then moves it) only checks again."""
    db.session.flush()  # what this step changed so far goes with it: the expiry below would drop it otherwise
    if not hold_status(resource):
        db.session.rollback()
        current = db.session.get(Resource, resource.id)
        if current is None:
            raise ReslibError(_("这个资源已不存在"), code="not_found", status=404)
        raise StateChanged(current.status_label)
    # What the step reads next must be what the row holds now, not what this session loaded before the hold.
    db.session.expire_all()


@contextmanager
def holding(resource: Resource):
    """Run the block holding the resource's row (see hold), for a step that reads more before it writes;
    commit what it did at its end, or roll it back on an error, letting go of the row either way."""
    hold(resource)
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


# --- creating drafts ----------------------------------------------------------------------

# Control characters, and the bidirectional controls that make a name read otherwise than it is
# ("\u202egnp.exe" shows as "exe.png").
_UNSAFE_IN_NAMES = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def display_name(file_name: str) -> str:
    """The uploader's file name, cleaned for display: no path, no control characters, not too long."""
    name = _UNSAFE_IN_NAMES.sub("", (file_name or "").replace("\\", "/").rsplit("/", 1)[-1]).strip()
    return name[-200:] or _("未命名文件")


def title_from(file_name: str) -> str:
    stem = display_name(file_name).rsplit(".", 1)[0]
    return stem.strip()[:200] or _("未命名资源")


def create_from_upload(user, stream, file_name: str) -> Resource:
    """Stream an uploaded file into storage and make a draft of it; processing is queued after the commit."""
    require(user, "resource.upload")
    resource = Resource(owner_id=user.id, school_id=user.school_id, title=title_from(file_name),
                        **_store_upload(user, stream, file_name))
    _add_new(resource)
    _queue_processing(resource)
    changed(resource, "created", user)
    return resource


def replace_file(user, resource: Resource, stream, file_name: str) -> Resource:
    """A draft (a new version, say) gets a different file; it is processed again."""
    require(user, "resource.edit", resource)
    stored = _store_upload(user, stream, file_name)  # outside the hold: no row is held while a file streams in
    with holding(resource):  # not over a submission made meanwhile from another tab
        for field, value in stored.items():
            setattr(resource, field, value)
        resource.processing_error = resource.processing_error_values = resource.probe_json = resource.checks_json = None
        resource.rendition_sha256 = resource.rendition_mime = None
        if not resource.cover_from_uploader:
            resource.cover_sha256 = resource.thumb_sha256 = None
    _queue_processing(resource)
    changed(resource, "edited", user)
    return resource


def _store_upload(user, stream, file_name: str) -> dict:
    """Stage, check and store the file; the resource columns describing it."""
    caps = current_app.config["UPLOAD_MAX_BYTES"]
    files = store()
    staged = files.stage(stream, max_bytes=max(caps.values()))
    try:
        files.check(staged, caps)
        duplicate = _visible_duplicate(user, staged.sha256)
        if duplicate is not None:
            raise ReslibError(
                _("这个文件已在资源库中：《%(title)s》（编号 %(id)s）", title=duplicate.title, id=duplicate.id),
                code="duplicate", status=409,
            )
        sha = files.commit(staged)
    except BaseException:
        files.discard(staged)
        raise
    sniffed = staged.sniffed
    name = display_name(file_name)
    if not name.lower().endswith("." + sniffed.extension):  # the content decides the extension
        name = f"{name.rsplit('.', 1)[0] if '.' in name else name}.{sniffed.extension}"
    return dict(file_sha256=sha, file_name=name, file_size=staged.size, file_kind=sniffed.kind,
                file_mime=sniffed.mime, inline_safe=sniffed.inline_safe, processing="pending",
                type_code={"video": "A01", "audio": "A02"}.get(sniffed.kind, ""))


def _queue_processing(resource: Resource) -> None:
    queue().enqueue("process_resource", resource.id)


def _visible_duplicate(user, sha: str) -> Resource | None:
    """The same file already in the library where this uploader can see it (others are flagged to reviewers)."""
    for other in db.session.scalars(select(Resource).where(Resource.file_sha256 == sha,
                                                           Resource.status != "superseded")):
        if can(user, "resource.view", other):
            return other
    return None


def duplicates_of(resource: Resource) -> list[Resource]:
    """Other resources holding the identical file (for reviewers' checks)."""
    if not resource.file_sha256:
        return []
    return list(db.session.scalars(select(Resource).where(
        Resource.file_sha256 == resource.file_sha256, Resource.id != resource.id,
        Resource.lineage_id != resource.lineage_id)))


def create_link(user, url: str, title: str = "", metadata: dict | None = None) -> Resource:
    """A resource hosted elsewhere (以链接方式汇集): the URL must be a plain http(s) address; ``title`` (else the
    link's host) and any other metadata come with it. Everything is checked before anything is written: a refused
    link leaves no draft behind, so a client that retries does not pile them up."""
    require(user, "resource.upload")
    resource = Resource(owner_id=user.id, school_id=user.school_id, type_code="A03")
    data = {**(metadata or {}), "link_url": url}
    if (title or "").strip():
        data["title"] = title
    values, errors = clean_metadata(data, resource)
    if not (url or "").strip():  # an edit may empty the link; a link resource starts with one
        errors["link_url"] = _("请填写资源网址")
    if errors:
        raise MetadataInvalid(errors)
    for field, value in values.items():
        setattr(resource, field, value)
    resource.title = resource.title or urlsplit(resource.link_url).hostname[:200]
    _add_new(resource)
    changed(resource, "created", user)
    return resource


LINK_MAX = 1000  # characters in a link (Resource.link_url)


def check_link(url: str) -> str:
    """``url`` without surrounding spaces, if it is a plain http(s) address; else a ReslibError for link_url."""
    url = (url or "").strip()
    if any(ch.isspace() for ch in url):
        raise ReslibError(_("链接中不能有空格"), field="link_url")
    if _UNSAFE_IN_NAMES.search(url):  # a right-to-left override makes an address read otherwise than it leads
        raise ReslibError(_("链接中不能有控制字符或文字方向控制字符"), field="link_url")
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed "[" of an IPv6 address
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or len(url) > LINK_MAX:
        raise ReslibError(_("链接应是完整的 http:// 或 https:// 网址"), field="link_url")
    try:
        port_ok = parts.port != 0  # None when there is none; ValueError unless a number from 0 to 65535
    except ValueError:
        port_ok = False
    if not port_ok:
        raise ReslibError(_("链接中的端口应为 1 到 65535 之间的数字"), field="link_url")
    if parts.username or parts.password:
        raise ReslibError(_("链接中不能含有用户名或密码"), field="link_url")
    return url


def _add_new(resource: Resource) -> None:
    db.session.add(resource)
    db.session.flush()
    resource.lineage_id = resource.lineage_id or resource.id
    db.session.commit()


# --- metadata -----------------------------------------------------------------------------

TEXT_FIELDS = {"title": 200, "description": 5000, "chapter": 200, "copyright_holder": 200,
               "presenters": 500, "keywords": 500, "catalogue_xml": 20000}
TERM_FIELDS = {"form_id": "form", "stage_id": "stage", "subject_id": "subject", "grade_id": "grade",
               "edition_id": "edition", "category_id": "category"}
CHOICE_FIELDS = {"kind": KINDS, "source": SOURCES, "licence": LICENCES, "type_code": TYPE_CODES}
METADATA_FIELDS = (*TEXT_FIELDS, *TERM_FIELDS, *CHOICE_FIELDS, "section", "column", "created_on", "link_url")


def update_metadata(user, resource: Resource, data: dict) -> Resource:
    """Check every given field, then save them all or none; errors name each field, in Chinese."""
    require(user, "resource.edit", resource)
    values, errors = clean_metadata(data, resource)
    if errors:
        raise MetadataInvalid(errors)
    with holding(resource):  # not over a submission made meanwhile from another tab
        for field, value in values.items():
            setattr(resource, field, value)
    changed(resource, "edited", user)
    return resource


def clean_metadata(data: dict, resource: Resource) -> tuple[dict, dict]:
    values, errors = {}, {}
    for field in METADATA_FIELDS:
        if field not in data:
            continue
        raw = data[field]
        try:
            values[field] = _clean(field, raw)
        except ReslibError as exc:
            errors[field] = exc.message
    if "title" in values and not values["title"]:
        errors["title"] = _("请填写资源标题")
    section = values.get("section", resource.section)
    column = values.get("column", resource.column)
    if column and not national.is_valid(section, column):
        errors["column"] = _("栏目“%(column)s”不属于版块“%(section)s”", column=column, section=section)
    if "link_url" in values and resource.file_sha256:
        errors["link_url"] = _("上传了文件的资源不能再改成链接")
    return values, errors


def _clean(field: str, raw):
    text = "" if raw is None else str(raw).strip()
    if field in TEXT_FIELDS:
        if len(text) > TEXT_FIELDS[field]:
            raise ReslibError(_("不能超过 %(n)s 个字", n=TEXT_FIELDS[field]))
        if field in ("presenters", "keywords"):  # people type ；、， as separators too
            text = ";".join(p.strip() for p in re.split(r"[;；,，、]", text) if p.strip())
        if field == "catalogue_xml" and text:
            _check_catalogue(text)
        return text
    if field in TERM_FIELDS:
        if not text:
            return None
        term = get_by_id(Term, text)
        if term is None or term.vocabulary != TERM_FIELDS[field] or not term.active:
            raise ReslibError(_("请从列表中选择"))
        return term.id
    if field in CHOICE_FIELDS:
        if not text:
            return None if field != "type_code" else ""
        if text not in CHOICE_FIELDS[field]:
            raise ReslibError(_("请从列表中选择"))
        return text
    if field == "created_on":
        if not text:
            return None
        try:
            return date.fromisoformat(text) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text) else _bad_date()
        except ValueError:
            _bad_date()
    if field == "link_url":
        return check_link(text) if text else None
    if field == "section":
        if text and not national.columns(text):
            raise ReslibError(_("请从列表中选择"))
        return text
    return text  # column: checked against its section by the caller


def _bad_date():
    raise ReslibError(_("创建时间应为 yyyy-mm-dd，例如 2022-03-23"))


def _check_catalogue(text: str) -> None:
    """资源目录 is an XML string: it must parse, safely (no entities, no DTD)."""
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        raise ReslibError(_("资源目录不是有效的 XML：第 %(line)s 行第 %(column)s 个字符附近有误", line=line,
                            column=column + 1)) from exc
    except DefusedXmlException as exc:
        raise ReslibError(_("资源目录不能包含 DTD 或实体定义")) from exc


def missing_for_submission(resource: Resource) -> dict[str, str]:
    """What the national metadata standard needs before a resource can go to review."""
    required = {
        "title": _("请填写资源标题"), "kind": _("请选择资源类别"), "form_id": _("请选择资源形式"),
        "stage_id": _("请选择学段"), "subject_id": _("请选择学科"), "copyright_holder": _("请填写版权方"),
        "created_on": _("请填写创建时间"), "keywords": _("请填写关键词"), "source": _("请选择来源"),
        "licence": _("请选择授权方式"), "description": _("请填写资源简介"),
    }
    missing = {field: message for field, message in required.items() if not getattr(resource, field)}
    if resource.file_kind == "video" and not resource.presenters:
        missing["presenters"] = _("视频资源须填写主讲人")
    if resource.file_kind == "video" and not resource.cover_sha256 and resource.processing == "done":
        missing["cover"] = _("请上传封面（JPG）")
    return missing


# --- who sees what ------------------------------------------------------------------------

def visible_filter(user):
    """A WHERE clause: the resources ``user`` may find in a library (not their drafts: that's "my resources")."""
    clauses = [Resource.status == "published"]
    if user.school_id is not None:
        clauses.append((Resource.status == "school_approved") & (Resource.school_id == user.school_id))
    elif user.has_role("district_admin"):
        clauses.append(Resource.status == "school_approved")
    return or_(*clauses)


def in_library(resource: Resource) -> bool:
    return resource.status in VISIBLE_STATUSES


def my_resources(user, status: str | None = None):
    """``user``'s own resources, newest change first; only those in ``status`` if given."""
    stmt = select(Resource).where(Resource.owner_id == user.id, Resource.status != "superseded")
    if status:
        stmt = stmt.where(Resource.status == status)
    return stmt.order_by(Resource.updated_at.desc(), Resource.id.desc())


def my_status_counts(user) -> dict[str, int]:
    """How many of ``user``'s own resources are in each status, in workflow order; statuses with none are left out."""
    rows = db.session.execute(select(Resource.status, func.count()).where(
        Resource.owner_id == user.id, Resource.status != "superseded").group_by(Resource.status))
    counts = dict(rows.all())
    return {status: counts[status] for status in STATUSES if counts.get(status)}


def delete_draft(user, resource: Resource) -> None:
    """A draft that never left its owner can be deleted; the file stays if another resource shares it."""
    require(user, "resource.edit", resource)
    if resource.status != "draft":
        raise ReslibError(_("只有草稿可以删除"), code="conflict", status=409)
    with holding(resource):  # not after it was submitted from another tab
        audit.record("resource.deleted", actor=user, target=resource, detail=resource.title)
        db.session.delete(resource)
    changed(resource, "deleted", user)


def new_version(user, resource: Resource) -> Resource:
    """A new draft carrying the metadata over; the published version stays until this one is approved."""
    require(user, "resource.new_version", resource)
    with holding(resource):  # two clicks (two tabs) at once make one new version, not two
        pending = db.session.scalar(select(Resource).where(Resource.supersedes_id == resource.id,
                                                           Resource.status.notin_(("rejected", "superseded"))))
        if pending is not None:
            return pending
        copy = Resource(owner_id=resource.owner_id, school_id=resource.school_id, lineage_id=resource.lineage_id,
                        supersedes_id=resource.id, status="draft")
        for field in (*METADATA_FIELDS, "file_sha256", "file_name", "file_size", "file_kind", "file_mime",
                      "inline_safe", "cover_sha256", "cover_from_uploader", "thumb_sha256", "rendition_sha256",
                      "rendition_mime", "processing", "processing_error", "processing_error_values", "probe_json",
                      "checks_json"):
            setattr(copy, field, getattr(resource, field))
        _add_new(copy)
    changed(copy, "created", user)
    return copy


def set_cover(user, resource: Resource, stream) -> None:
    """The uploader's own cover (the standard wants a JPG); the worker makes the thumbnail from it."""
    require(user, "resource.edit", resource)
    files = store()
    staged = files.stage(stream, max_bytes=current_app.config["UPLOAD_MAX_BYTES"]["image"])
    try:
        if staged.sniffed.mime != "image/jpeg":
            raise ReslibError(_("封面须为 JPG 图片"), field="cover", code="unsupported_type", status=415)
        files.check(staged, current_app.config["UPLOAD_MAX_BYTES"])
        sha = files.commit(staged)
    except BaseException:
        files.discard(staged)
        raise
    with holding(resource):
        resource.cover_sha256, resource.cover_from_uploader, resource.thumb_sha256 = sha, True, None
        resource.processing = "pending"  # the worker makes the thumbnail (and re-scans the cover)
    _queue_processing(resource)
    changed(resource, "edited", user)
