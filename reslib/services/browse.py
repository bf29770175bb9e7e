"""Finding resources: the district and school libraries with filters, sorting and pages; what a resource page reads."""
import math
from dataclasses import dataclass

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, load_only

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.messages import as_read
from reslib.models import Rating, Resource, School, Term, UsageEvent
from reslib.models.base import as_id
from reslib.models.library import KINDS, VISIBLE_STATUSES
from reslib.national import columns as national_columns
from reslib.national import sections as national_sections
from reslib.permissions import can, require
from reslib.services import library

TERM_FILTERS = {"form_id": "form", "subject_id": "subject", "stage_id": "stage", "grade_id": "grade",
                "edition_id": "edition"}
SORTS = ("newest", "views", "rating")
# What a card shows, loaded with the rows; anything else a card touched would be a query per row, so it raises.
CARD_LOADING = (
    load_only(Resource.title, Resource.status, Resource.kind, Resource.lineage_id, Resource.school_id, Resource.grade,
              Resource.link_url, Resource.file_kind, Resource.file_sha256, Resource.inline_safe,
              Resource.rendition_sha256, Resource.rendition_mime, Resource.cover_sha256, Resource.thumb_sha256,
              Resource.published_at),
    *(joinedload(relation).load_only(Term.name, Term.vocabulary)
      for relation in (Resource.form, Resource.subject, Resource.grade_term)),
    joinedload(Resource.school).load_only(School.name),
)
CATALOGUE_MAX_DEPTH = 12  # deeper levels of a 资源目录 are not shown


@dataclass(frozen=True)
class Card:
    """One resource in a list, with the figures its card shows."""

    resource: Resource
    views: int
    rating: float | None
    ratings: int


@dataclass(frozen=True)
class Page:
    items: list[Card]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(math.ceil(self.total / self.per_page), 1)

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def clean_filters(raw) -> dict:
    """The filters a request asked for (query-string values), keeping only valid ones."""
    filters = {}
    if raw.get("kind") in KINDS:
        filters["kind"] = raw["kind"]
    for name in TERM_FILTERS:
        if (term_id := as_id(raw.get(name))) is not None:
            filters[name] = term_id
    if raw.get("section") in national_sections():
        filters["section"] = raw["section"]
        if raw.get("column") in national_columns(raw["section"]):
            filters["column"] = raw["column"]
    return filters


def facets() -> dict:
    """The options of each filter: the active entries of each vocabulary, read in one query."""
    options = {vocabulary: [] for vocabulary in TERM_FILTERS.values()}
    for vocabulary, term_id, name in db.session.execute(
            select(Term.vocabulary, Term.id, Term.name)
            .where(Term.vocabulary.in_(options), Term.active.is_(True)).order_by(Term.position, Term.id)):
        options[vocabulary].append((term_id, as_read(name)))
    return {
        "kind": list(KINDS.items()),
        **{name: options[vocabulary] for name, vocabulary in TERM_FILTERS.items()},
        "section": [(name, name) for name in national_sections()],
        "column": {name: national_columns(name) for name in national_sections()},
    }


def school_for_library(user, school_id: int) -> School:
    """The school whose library ``user`` asks for (the library.school rule)."""
    school = db.session.get(School, school_id)
    if school is None:
        raise ReslibError(_("没有这个学校"), code="not_found", status=404)
    require(user, "library.school", school)
    return school


def browse(user, *, school_id: int | None = None, filters: dict, sort: str = "newest", page: int = 1) -> Page:
    """A page of the district library (published resources) or of a school's library (its school-approved
    and published ones), filtered and sorted; one query for the rows and one for the total."""
    where = _library_where(user, school_id, filters)
    per_page = current_app.config["PAGE_SIZE"]
    page = max(int(page or 1), 1)
    items = _cards(where, sort, limit=per_page, offset=(page - 1) * per_page)
    total = db.session.scalar(select(func.count()).select_from(Resource).where(*where))
    return Page(items, total, page, per_page)


def newest(user, limit: int) -> list[Card]:
    """The district library's newest resources, without counting them all (that is the library page's job)."""
    return _cards(_library_where(user, None, {}), "newest", limit=limit, offset=0)


def _library_where(user, school_id: int | None, filters) -> list:
    require(user, "library.use")
    if school_id is None:
        # Everyone who may use the library sees every published resource, so the visibility rule adds nothing
        # here; left in, it keeps SQLite from counting the district library on its status index alone, which
        # took twice as long on a 100,000-resource district.
        where = [Resource.status == "published"]
    else:
        school_for_library(user, school_id)
        where = [library.visible_filter(user), Resource.school_id == school_id, Resource.status.in_(VISIBLE_STATUSES)]
    return where + [getattr(Resource, name) == value for name, value in clean_filters(filters).items()]


def _cards(where: list, sort: str, *, limit: int, offset: int) -> list[Card]:
    views = (select(func.count()).where(UsageEvent.lineage_id == Resource.lineage_id, UsageEvent.kind == "view")
             .correlate(Resource).scalar_subquery().label("views"))
    rating = (select(func.avg(Rating.stars)).where(Rating.lineage_id == Resource.lineage_id)
              .correlate(Resource).scalar_subquery().label("rating"))
    ratings = (select(func.count()).where(Rating.lineage_id == Resource.lineage_id)
               .correlate(Resource).scalar_subquery().label("ratings"))
    newest_first = (Resource.published_at.desc().nulls_last(), Resource.id.desc())
    order = {"views": (views.desc(), *newest_first),
             "rating": (rating.desc().nulls_last(), ratings.desc(), *newest_first)}
    rows = db.session.execute(
        select(Resource, views, rating, ratings).where(*where)
        .options(*CARD_LOADING)
        .order_by(*order.get(sort, newest_first)).limit(limit).offset(offset))
    return [Card(resource, viewed or 0, round(float(average), 1) if average is not None else None, rated)
            for resource, viewed, average, rated in rows]


# --- the resource page ------------------------------------------------------------------------

def latest_version(user, resource: Resource) -> Resource | None:
    """The newest version of ``resource``'s lineage that ``user`` may see, other than a superseded one."""
    versions = db.session.scalars(select(Resource).where(
        Resource.lineage_id == resource.lineage_id, Resource.status != "superseded").order_by(Resource.id.desc()))
    return next((version for version in versions if can(user, "resource.view", version)), None)


@dataclass(frozen=True)
class CatalogueEntry:
    tag: str
    attributes: list[str]
    text: str
    children: list["CatalogueEntry"]


def catalogue_outline(xml: str) -> list[CatalogueEntry]:
    """资源目录 as an outline to show as nested lists; empty when there is none or it does not parse."""
    if not xml.strip():
        return []
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, DefusedXmlException):
        return []
    return [_entry(root, 1)]


def _entry(element, depth: int) -> CatalogueEntry:
    children = [_entry(child, depth + 1) for child in element] if depth < CATALOGUE_MAX_DEPTH else []
    return CatalogueEntry(tag=str(element.tag), attributes=[str(v) for v in element.attrib.values()],
                          text=(element.text or "").strip(), children=children)
