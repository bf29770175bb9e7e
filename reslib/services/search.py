"""Search over the libraries: what goes into the index, who may find what, the search page's results,
and keeping the index in step with the database.

The index is derived data. Web requests only read it; changes reach it after their commit through the
queue's "search.sync" task, so the worker is its one writer. ``reindex`` writes from the process that
calls it (``reslib reindex``): run it while the worker is stopped, or a sync task may find the index
locked (it is retried, see SYNC_RETRIES). The backend is chosen by SEARCH_BACKEND ("whoosh" keeps an
index in SEARCH_INDEX_PATH; "postgres" keeps it in the database); both have the same interface.
"""
import threading
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from huey import crontab
from markupsafe import Markup, escape
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from reslib.extensions import db
from reslib.jobs import queue
from reslib.models import Rating, Resource, School, Term, UsageEvent
from reslib.models.base import get_by_id, utcnow
from reslib.messages import as_read
from reslib.models.library import GRADES, KINDS, SOURCES, VISIBLE_STATUSES
from reslib.permissions import require
from reslib.search import segment
from reslib.services import browse as browsing
from reslib.services import library, vocabularies

# Filters and facet counts, in the order the page shows them; each is one value per document.
FACETS = ("library", "kind", "form", "stage", "subject", "grade", "edition", "section", "column",
          "file_type", "source", "grade_result", "year")
SORTS = ("relevance", "newest", "views", "rating")
FILE_TYPES = {"video": _l("视频"), "audio": _l("音频"), "pdf": "PDF", "document": _l("文档"), "image": _l("图片"),
              "archive": _l("压缩包"), "link": _l("链接")}
TERM_FACETS = {"form": "form_id", "stage": "stage_id", "subject": "subject_id", "grade": "grade_id",
               "edition": "edition_id"}
QUERY_MAX = 100  # characters of a query; longer ones are cut
SUGGESTIONS = 8
FACET_OPTIONS_SHOWN = 12
REINDEX_BATCH = 500
SYNC_RETRIES, SYNC_RETRY_DELAY = 5, 10  # seconds; the index may be locked by a running `reslib reindex`
# Usage counts in the index are refreshed hourly; the window overlaps the previous run so a late run misses nothing.
REFRESH_WINDOW = timedelta(hours=2)
# Changes that leave the status as it was: a resource outside the libraries is not in the index before or after.
STATUS_KEPT = {"created", "edited", "processed", "panel_assigned", "scored"}

_open_lock = threading.Lock()


# --- the backend ------------------------------------------------------------------------------

def index():
    """This process's search backend for the current app, opened once and shared by its threads."""
    app = current_app._get_current_object()
    backend = app.extensions.get("reslib.search")
    if backend is None:
        with _open_lock:
            backend = app.extensions.get("reslib.search")
            if backend is None:
                backend = app.extensions["reslib.search"] = _open(app)
    return backend


def _open(app):
    name = app.config["SEARCH_BACKEND"]
    if name == "whoosh":
        from reslib.search.whoosh_backend import WhooshIndex

        return WhooshIndex(app.config["SEARCH_INDEX_PATH"] or Path(app.instance_path) / "search-index")
    if name == "postgres":
        from reslib.search.postgres_backend import PostgresIndex

        return PostgresIndex(db.engine)
    raise RuntimeError(f"SEARCH_BACKEND must be 'whoosh' or 'postgres', not {name!r}")


class ReadAhead(threading.Thread):
    """A daemon thread that loads the segmentation dictionaries and reads ``app``'s index ahead
    (``warm``) at once and then every SEARCH_WARM_INTERVAL seconds, so that the first search after a
    web process starts, or after the worker writes the index, does not wait seconds for what the next
    one would find ready. gunicorn.conf.py starts one in each web worker (``keep_warm``)."""

    def __init__(self, app):
        super().__init__(name="search-read-ahead", daemon=True)
        self.app = app
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            try:
                segment.load()  # at once the first time, nothing after
                with self.app.app_context():
                    index().warm()
            except Exception:  # a search reads what it needs itself; the next round tries again
                self.app.logger.exception("reading the search index ahead failed")
            self.stopped.wait(self.app.config["SEARCH_WARM_INTERVAL"])

    def stop(self):
        self.stopped.set()
        self.join()


def keep_warm(app) -> ReadAhead:
    thread = ReadAhead(app)
    thread.start()
    return thread


# --- what goes into the index -----------------------------------------------------------------

def _version(updated_at, status) -> str:
    """What changes whenever the indexed document would: compared by ``stale_report``."""
    return f"{updated_at.isoformat()} {status}"


def visibility(resource: Resource) -> str:
    """The token a searcher must hold to find ``resource`` (see ``allowed_for``)."""
    return "public" if resource.status == "published" else f"school:{resource.school_id}"


def document_for(resource: Resource, figures: tuple | None = None) -> dict | None:
    """The index document of ``resource``; None when it must not be in the index (not in a library).
    ``figures`` (its lineage's entry of ``_figures``) saves two queries when the caller has them."""
    if resource.status not in VISIBLE_STATUSES:
        return None
    views, average, _count = figures or _figures([resource.lineage_id])[resource.lineage_id]
    published = resource.status == "published"
    return {
        "id": resource.id,
        "version": _version(resource.updated_at, resource.status),
        "visible_to": visibility(resource),
        "title": resource.title,
        "description": resource.description,
        "keywords": resource.split("keywords"),
        "presenters": resource.split("presenters"),
        "category_path": resource.category.path if resource.category else "",
        "catalogue_text": catalogue_text(resource.catalogue_xml),
        "kind": resource.kind,
        "form": resource.form.name if resource.form else None,
        "stage": resource.stage.name if resource.stage else None,
        "subject": resource.subject.name if resource.subject else None,
        "grade": resource.grade_term.name if resource.grade_term else None,
        "edition": resource.edition.name if resource.edition else None,
        "section": resource.section,
        "column": resource.column,
        "library": "district" if published else f"school:{resource.school_id}",
        "file_type": "link" if resource.link_url else resource.file_kind,
        "source": resource.source,
        "grade_result": resource.grade,
        "year": str(resource.published_at.year) if resource.published_at else None,
        "published_at": resource.published_at,
        "views": views,
        "rating": round(average, 2) if average is not None else None,
    }


def catalogue_text(xml: str) -> str:
    """The words of a 资源目录 (element text and attribute values), or "" when it does not parse."""
    if not (xml or "").strip():
        return ""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException):
        return ""
    words = []
    for element in root.iter():
        words += [str(value) for value in element.attrib.values()]
        words += [text.strip() for text in (element.text, element.tail) if text and text.strip()]
    return " ".join(words)


def _figures(lineage_ids) -> dict[int, tuple[int, float | None, int]]:
    """{lineage id: (views, average rating or None, number of ratings)}, counted over every version."""
    views = dict(db.session.execute(
        select(UsageEvent.lineage_id, func.count()).where(UsageEvent.lineage_id.in_(lineage_ids),
                                                          UsageEvent.kind == "view")
        .group_by(UsageEvent.lineage_id)).all())
    ratings = {lineage_id: (float(average), count) for lineage_id, average, count in db.session.execute(
        select(Rating.lineage_id, func.avg(Rating.stars), func.count()).where(Rating.lineage_id.in_(lineage_ids))
        .group_by(Rating.lineage_id))}
    return {lineage_id: (views.get(lineage_id, 0), *ratings.get(lineage_id, (None, 0))) for lineage_id in lineage_ids}


def _with_terms(statement):
    return statement.options(*(joinedload(relation) for relation in (
        Resource.form, Resource.stage, Resource.subject, Resource.grade_term, Resource.edition, Resource.category)))


def _documents(resources) -> list[dict]:
    figures = _figures({resource.lineage_id for resource in resources})
    return [document_for(resource, figures[resource.lineage_id]) for resource in resources]


# --- who may find what ------------------------------------------------------------------------

def allowed_for(user) -> list[str]:
    """The visibility tokens ``user`` holds, as ``library.visible_filter``: everyone finds the district
    library; members their school's library; the district admin, who browses every school's, all of them."""
    if user.school_id is not None:
        return ["public", f"school:{user.school_id}"]
    if user.has_role("district_admin"):
        return ["public", *(f"school:{school_id}" for school_id in db.session.scalars(select(School.id)))]
    return ["public"]


# --- searching --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    card: browsing.Card
    title: Markup  # escaped, matches in <mark>
    excerpt: Markup


@dataclass(frozen=True)
class FacetOption:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    name: str
    label: str
    options: list[FacetOption]


@dataclass(frozen=True)
class SearchPage(browsing.Page):
    q: str = ""
    filters: dict = field(default_factory=dict)
    sort: str = "relevance"
    facets: list[Facet] = field(default_factory=list)
    # for an empty result: titles the query may have meant, single words of it that do find something
    # (word, total), and vocabulary entries (subjects, categories) that share words with it (name, label)
    suggestions: list[str] = field(default_factory=list)
    narrower: list[tuple[str, int]] = field(default_factory=list)
    related: list[tuple[str, str]] = field(default_factory=list)


def clean_query(q) -> str:
    return " ".join(str(q or "").split())[:QUERY_MAX]


def filters_from(args) -> dict:
    """Search filters from a query string: facet names (subject=数学, library=district, year=2023 …),
    and also the browse page's term ids (subject_id=3), read as the term's name."""
    filters = {name: str(args[name]) for name in FACETS if args.get(name)}
    for name, id_arg in TERM_FACETS.items():
        if name not in filters:
            term = get_by_id(Term, args.get(id_arg))
            if term is not None and term.vocabulary == name:
                filters[name] = term.name
    return filters


def search(user, q: str, *, filters: dict | None = None, sort: str = "relevance", page: int = 1) -> SearchPage:
    """A page of what ``user`` may find for ``q`` and ``filters`` ({facet: value}), with facet counts;
    with nothing found, suggestions. Rows are loaded from the database and checked against what the user
    may see now, so a hit the queue has not yet removed from the index is never shown."""
    require(user, "library.use")
    q = clean_query(q)
    filters = {name: value for name, value in (filters or {}).items() if name in FACETS}
    sort = sort if sort in SORTS else "relevance"
    if not q and sort == "relevance":  # nothing to rank by
        sort = "newest"
    per_page = current_app.config["PAGE_SIZE"]
    page = max(int(page or 1), 1)
    allowed = allowed_for(user)
    results = index().search(q, allowed=allowed, filters=filters, sort=sort, page=page, per_page=per_page,
                             facets=FACETS)
    hits = _hits(user, results.hits)
    found = SearchPage(hits, results.total, page, per_page, q=q, filters=filters, sort=sort,
                       facets=_facets(results.facets, filters))
    return found if results.total or not q else replace(found, **_empty_state(q, allowed))


def _hits(user, index_hits) -> list[Hit]:
    ids = [int(hit.id) for hit in index_hits]
    if not ids:
        return []
    rows = db.session.scalars(select(Resource).where(Resource.id.in_(ids), library.visible_filter(user))
                              .options(*browsing.CARD_LOADING))
    resources = {resource.id: resource for resource in rows}
    figures = _figures({resource.lineage_id for resource in resources.values()})
    hits = []
    for hit in index_hits:
        resource = resources.get(int(hit.id))
        if resource is not None:
            views, average, count = figures[resource.lineage_id]
            card = browsing.Card(resource, views, round(average, 1) if average is not None else None, count)
            hits.append(Hit(card, marked(hit.highlights.get("title") or [(resource.title, False)]),
                            marked(hit.highlights.get("description") or [])))
    return hits


def marked(segments) -> Markup:
    """Highlight segments [(text, is_match)] as HTML: every text escaped, matches in <mark>."""
    return Markup("").join(Markup("<mark>{}</mark>").format(text) if match else escape(text)
                           for text, match in segments)


def _facets(counts: dict, filters: dict) -> list[Facet]:
    labels = {"library": _("资源库"), "kind": _("资源类别"), "form": _("资源形式"), "stage": _("学段"),
              "subject": _("学科"), "grade": _("年级"), "edition": _("教材版本"), "section": _("版块"),
              "column": _("栏目"), "file_type": _("文件类型"), "source": _("来源"), "grade_result": _("评审等级"),
              "year": _("入库年份")}
    value_labels = _value_labels(counts)
    facets = []
    for name in FACETS:
        ranked = sorted(counts.get(name, {}).items(), key=lambda item: (-item[1], item[0]))
        chosen = filters.get(name)
        if chosen and chosen not in dict(ranked):  # the filter found nothing: still show it, to remove
            ranked.insert(0, (chosen, 0))
        options = [FacetOption(value, value_labels.get(name, {}).get(value, value), count, value == chosen)
                   for value, count in ranked[:FACET_OPTIONS_SHOWN]]
        if options:
            facets.append(Facet(name, labels[name], options))
    return facets


def _value_labels(counts: dict) -> dict[str, dict[str, str]]:
    """Display names of coded facet values."""
    school_ids = [int(value.split(":")[1]) for value in counts.get("library", {})
                  if value.startswith("school:") and value.split(":")[1].isdigit()]
    schools = dict(db.session.execute(select(School.id, School.name).where(School.id.in_(school_ids))).all())
    return {
        "library": {"district": _("区级资源库"),
                    **{f"school:{school_id}": _("%(school)s校本库", school=name) for school_id, name in schools.items()}},
        "kind": {code: str(label) for code, label in KINDS.items()},
        "source": {code: str(label) for code, label in SOURCES.items()},
        "grade_result": {code: str(label) for code, label in GRADES.items()},
        "file_type": {code: str(label) for code, label in FILE_TYPES.items()},
        # Vocabulary entries are indexed by their stored name: the one to filter by, shown in the reader's language.
        **{name: {value: as_read(value) for value in counts.get(name, {})} for name in browsing.TERM_FILTERS.values()},
    }


def _empty_state(q: str, allowed: list[str]) -> dict:
    backend = index()
    words = q.split()
    narrower = []
    if len(words) > 1:
        for word in words:
            total = backend.search(word, allowed=allowed, per_page=1).total
            if total:
                narrower.append((word, total))
    return {"suggestions": [title for title in backend.suggest(q, allowed=allowed, limit=SUGGESTIONS) if title != q],
            "narrower": narrower, "related": related_terms(q)}


def related_terms(q: str, limit: int = SUGGESTIONS) -> list[tuple[str, str]]:
    """Subjects and categories sharing a word (two or more characters, or a Latin word) with ``q``: (the name
    to search for, the entry as the reader reads it, a category with its path)."""
    wanted = {token.text for token in segment.tokens(q) if len(token.text) > 1 or token.text.isascii()}
    if not wanted:
        return []
    found = []
    for term in db.session.scalars(select(Term).options(joinedload(Term.parent))
                                   .where(Term.vocabulary.in_(("subject", "category")), Term.active.is_(True))
                                   .order_by(Term.vocabulary, Term.position, Term.id)):
        if wanted & {token.text for token in segment.tokens(term.name)}:
            found.append((term.name, vocabularies.term_label(term)))
    return list(dict.fromkeys(found))[:limit]


def suggest(user, prefix: str) -> list[str]:
    """Titles ``user`` may find, for the search box as they type ``prefix`` (Chinese, Latin or pinyin)."""
    require(user, "library.use")
    prefix = clean_query(prefix)
    if not prefix:
        return []
    return index().suggest(prefix, allowed=allowed_for(user), limit=SUGGESTIONS)


# --- keeping the index right ------------------------------------------------------------------

def queue_sync(resource: Resource, change: str) -> None:
    """After a commit: have the worker bring ``resource``'s index entry up to date."""
    if resource.status in VISIBLE_STATUSES or change not in STATUS_KEPT:
        queue().enqueue("search.sync", resource.id)


def sync(resource_ids: list[int]) -> None:
    """Index the resources as they are now, or take out those not in a library (or deleted), in one write."""
    if isinstance(resource_ids, int):  # a task queued before syncs were batched carries one id
        resource_ids = [resource_ids]
    resources = [resource for resource in db.session.scalars(_with_terms(
        select(Resource).where(Resource.id.in_(resource_ids), Resource.status.in_(VISIBLE_STATUSES))))]
    gone = set(resource_ids) - {resource.id for resource in resources}
    if gone:
        index().remove(sorted(gone))
    if resources:
        index().add_or_update(_documents(resources))


def refresh_counts(since=None) -> int:
    """Re-index the library resources whose views or ratings changed since ``since`` (by default within
    REFRESH_WINDOW), so the "most viewed" and "best rated" sorts follow use. Returns how many."""
    since = since or utcnow() - REFRESH_WINDOW
    lineages = (select(UsageEvent.lineage_id).where(UsageEvent.at >= since, UsageEvent.kind == "view")
                .union(select(Rating.lineage_id).where(Rating.updated_at >= since)))
    resources = list(db.session.scalars(_with_terms(select(Resource).where(
        Resource.lineage_id.in_(lineages), Resource.status.in_(VISIBLE_STATUSES)))))
    if resources:
        index().add_or_update(_documents(resources))
    return len(resources)


def merge_index() -> bool:
    """Merge the index into one part (see ``WhooshIndex.merge``); returns whether there was anything to merge."""
    return index().merge()


def register_jobs(job_queue) -> None:
    job_queue.task("search.sync", batched=True, retries=SYNC_RETRIES, retry_delay=SYNC_RETRY_DELAY)(sync)
    job_queue.periodic("search.refresh_counts", crontab(minute="7"))(refresh_counts)
    job_queue.periodic("search.merge_index", crontab(hour="2", minute="37"))(merge_index)


def indexable_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Resource)
                             .where(Resource.status.in_(VISIBLE_STATUSES)))


def reindex(progress=None) -> int:
    """Rebuild the index from the database: the library resources replace everything it held, in one write.
    ``progress(n)`` is called after each batch with the number just indexed (e.g. a click progress bar's
    ``update``; ``indexable_count()`` is the total). Returns how many resources were indexed. Run it with
    the worker stopped (see the module docstring)."""
    indexed = 0

    def documents():
        nonlocal indexed
        last_id = 0
        while batch := list(db.session.scalars(_with_terms(
                select(Resource).where(Resource.status.in_(VISIBLE_STATUSES), Resource.id > last_id)
                .order_by(Resource.id).limit(REINDEX_BATCH)))):
            yield from _documents(batch)
            indexed += len(batch)
            last_id = batch[-1].id
            if progress is not None:
                progress(len(batch))

    index().rebuild(documents())
    return indexed


def stale_report() -> tuple[list[int], list[int], list[int]]:
    """(missing, stale, orphans): ids of library resources not in the index, indexed from an older state,
    and ids in the index that are no longer in a library."""
    rows = db.session.execute(select(Resource.id, Resource.updated_at, Resource.status)
                              .where(Resource.status.in_(VISIBLE_STATUSES)))
    expected = {str(resource_id): _version(updated_at, status) for resource_id, updated_at, status in rows}
    indexed = index().ids_and_versions()
    missing = [int(doc_id) for doc_id in expected if doc_id not in indexed]
    stale = [int(doc_id) for doc_id, version in expected.items() if doc_id in indexed and indexed[doc_id] != version]
    orphans = [int(doc_id) for doc_id in indexed if doc_id not in expected]
    return sorted(missing), sorted(stale), sorted(orphans)
