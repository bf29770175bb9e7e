"""The PostgreSQL full-text search backend, for districts running several app servers.

It behaves like ``WhooshIndex`` over the same segmentation: the tokens of ``segment.tokens`` go
into tsvectors as they are, at their unit positions (PostgreSQL's own parsers would cut Chinese
differently), and each query part becomes a phrase tsquery of its terms (``a <-> b <-> c``).
tsvector limits: a position above 16383 is kept as 16383 and a lexeme keeps only its first 256
positions, so in very long texts a phrase far into the text may not be found; its single
characters still are.
"""

from itertools import islice

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    MetaData,
    Table,
    Text,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSQUERY, TSVECTOR, insert

from reslib.search import segment
from reslib.search.whoosh_backend import (
    DESCRIPTION_EXCERPT,
    FACET_FIELDS,
    SORT_FIELDS,
    TEXT_FIELDS,
    TITLE_BOOST,
    Hit,
    Results,
)

WRITE_CHUNK = 1000  # documents per INSERT … ON CONFLICT statement
MAX_POSITION = 16383  # the largest tsvector position; PostgreSQL stores larger ones as this

# The table's one definition: the migration and create_schema() both create it from here.
SEARCH_DOCUMENT = Table(
    "search_document",
    MetaData(),
    Column("id", Text, primary_key=True),
    Column("version", Text, nullable=False),
    Column("visible_to", ARRAY(Text), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    *(Column(name, Text) for name in FACET_FIELDS),
    Column("published_at", DateTime),
    Column("views", BigInteger),
    Column("rating", Float),
    Column("content_tsv", TSVECTOR, nullable=False),  # every text field, for matching
    Column("title_tsv", TSVECTOR, nullable=False),  # the title again, for ranking and suggestions
    Column("pinyin", ARRAY(Text), nullable=False),  # segment.pinyin_word_keys of the title
)
_doc = SEARCH_DOCUMENT.c
Index("ix_search_document_content_tsv", _doc.content_tsv, postgresql_using="gin")
Index("ix_search_document_title_tsv", _doc.title_tsv, postgresql_using="gin")
Index("ix_search_document_visible_to", _doc.visible_to, postgresql_using="gin")
# Pinyin is matched by prefix, which a tsquery ("aiguo:*") does through this index.
_pinyin_tsv = func.array_to_tsvector(_doc.pinyin)
Index("ix_search_document_pinyin", _pinyin_tsv, postgresql_using="gin")


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _lexeme(term):
    """``term`` quoted for a tsvector or tsquery literal."""
    return "'" + term.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsvector(texts):
    """tsvector literal of ``texts`` with their tokens at unit positions (1-based); each text
    starts two positions after the last token of the one before, so no phrase spans two."""
    entries = []
    start = 1
    for text in texts:
        next_start = start
        for token in segment.tokens(text):
            position = start + token.pos
            entries.append(f"{_lexeme(token.text)}:{min(position, MAX_POSITION)}")
            next_start = position + 2
        start = next_start
    return " ".join(entries)


def _row(doc):
    """Table row for one resource dict, with the fields ``WhooshIndex.add_or_update`` takes."""
    unknown = set(doc) - {"id", "version", "visible_to", *TEXT_FIELDS, *FACET_FIELDS, *SORT_FIELDS.values()}
    if unknown:
        raise ValueError(f"unknown search fields: {sorted(unknown)}")
    title = str(doc.get("title") or "")
    keys = segment.pinyin_word_keys(title)
    row = {
        "id": str(doc["id"]),
        "version": str(doc.get("version", "")),
        # Every document names who may see it; a missing entry would make it invisible.
        "visible_to": [str(token) for token in _as_list(doc["visible_to"])],
        "title": title,
        "description": str(doc.get("description") or ""),
        "content_tsv": _tsvector(str(text) for name in TEXT_FIELDS if doc.get(name) for text in _as_list(doc[name])),
        "title_tsv": _tsvector([title]),
        "pinyin": list(dict.fromkeys(key for pair in keys for key in pair)),
    }
    for name in FACET_FIELDS:
        row[name] = None if doc.get(name) in (None, "") else str(doc[name])
    for name in SORT_FIELDS.values():
        row[name] = doc.get(name)
    return row


def _tsquery(literal_text):
    return cast(literal_text, TSQUERY)


def _phrase(part):
    return " <-> ".join(_lexeme(term) for term in part.phrase)


def _pinyin_prefix(typed):
    return _pinyin_tsv.bool_op("@@")(_tsquery(_lexeme(typed) + ":*"))


def _meets(part, tsv):
    """SQL condition: ``tsv`` holds the part's phrase (or, for pinyin, the title pinyin starts with it)."""
    condition = tsv.bool_op("@@")(_tsquery(_phrase(part)))
    return or_(condition, _pinyin_prefix(part.pinyin)) if part.pinyin else condition


def _relevance(parts):
    """SQL score as ``WhooshIndex.search`` ranks: TITLE_BOOST for each part the title meets, 1 for each part
    found as a whole word, and under 1 more the shorter the title (in lexemes)."""
    in_title = [case((_meets(part, _doc.title_tsv), TITLE_BOOST), else_=0.0) for part in parts]
    as_word = [case((_doc.content_tsv.bool_op("@@")(_tsquery(_lexeme(part.word))), 1.0), else_=0.0)
               for part in parts if part.word]
    return sum([*in_title, *as_word], literal(0.0)) + 1.0 / (1 + func.length(_doc.title_tsv))


def _visible(allowed):
    return _doc.visible_to.overlap([str(token) for token in allowed])


def _filters(filters):
    conditions = []
    for name, values in (filters or {}).items():
        if name not in FACET_FIELDS:
            raise ValueError(f"cannot filter on {name!r}")
        conditions.append(_doc[name].in_([str(value) for value in _as_list(values)]))
    return conditions


class PostgresIndex:
    """Search documents in the ``search_document`` table of ``engine``'s database."""

    def __init__(self, engine):
        self._engine = engine

    def create_schema(self):
        """Create the table and its indexes unless they exist (the migration does this in the app)."""
        with self._engine.begin() as connection:
            SEARCH_DOCUMENT.create(connection, checkfirst=True)

    # Writing ----------------------------------------------------------------------------

    def add_or_update(self, docs):
        """Index ``docs`` (any iterable, read in chunks), replacing any document with the same id."""
        with self._engine.begin() as connection:
            self._write(connection, docs)

    def rebuild(self, docs):
        """Replace everything in the index with ``docs``, in one transaction."""
        with self._engine.begin() as connection:
            connection.execute(SEARCH_DOCUMENT.delete())
            self._write(connection, docs)

    @staticmethod
    def _write(connection, docs):
        statement = insert(SEARCH_DOCUMENT)
        statement = statement.on_conflict_do_update(
            index_elements=[_doc.id],
            set_={column.name: statement.excluded[column.name] for column in _doc if column.name != "id"},
        )
        rows = map(_row, docs)
        while chunk := {row["id"]: row for row in islice(rows, WRITE_CHUNK)}:  # of one id twice, the last counts
            connection.execute(statement, list(chunk.values()))

    def remove(self, ids):
        with self._engine.begin() as connection:
            connection.execute(SEARCH_DOCUMENT.delete().where(_doc.id.in_([str(doc_id) for doc_id in ids])))

    def merge(self) -> bool:
        """As ``WhooshIndex.merge``; PostgreSQL keeps its GIN indexes itself, so there is nothing to merge."""
        return False

    # Reading ----------------------------------------------------------------------------

    def warm(self):
        """As ``WhooshIndex.warm``; the database keeps its own caches, so there is nothing to read ahead."""

    def search(self, q, *, allowed, filters=None, sort="relevance", page=1, per_page=20, facets=()):
        """As ``WhooshIndex.search``: page ``page`` of the documents matching query text ``q``
        (all documents when it has no words) that carry one of the ``allowed`` visibility
        tokens and every filter value (a list means any of its values)."""
        unknown_facets = set(facets) - set(FACET_FIELDS)
        if unknown_facets:
            raise ValueError(f"cannot count facets of {sorted(unknown_facets)}")
        parts = segment.query_terms(q)
        where = [_visible(allowed), *_filters(filters), *(_meets(part, _doc.content_tsv) for part in parts)]
        if parts:
            score = _relevance(parts)
        else:
            score = literal(0.0)
        if sort == "relevance":
            order = [score.desc()]
        else:
            order = [_doc[SORT_FIELDS[sort]].desc().nulls_last(), score.desc()]
        page_query = (
            select(_doc.id, _doc.title, _doc.description, score.label("score"))
            .where(*where)
            .order_by(*order, _doc.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        with self._engine.connect() as connection:
            total = connection.scalar(select(func.count()).select_from(SEARCH_DOCUMENT).where(*where))
            rows = connection.execute(page_query).all()
            facet_counts = {
                name: dict(
                    connection.execute(
                        select(_doc[name], func.count()).where(*where, _doc[name].is_not(None)).group_by(_doc[name])
                    ).all()
                )
                for name in facets
            }
        terms = {term for part in parts for term in (*part.phrase, part.word) if term}
        hits = [
            Hit(
                row.id,
                float(row.score) if sort == "relevance" else None,
                {
                    "title": segment.highlight(row.title, terms),
                    "description": segment.highlight(row.description, terms, max_chars=DESCRIPTION_EXCERPT),
                },
            )
            for row in rows
        ]
        return Results(total, hits, facet_counts)

    def suggest(self, prefix, *, allowed, limit=8):
        """As ``WhooshIndex.suggest``: titles containing the Chinese text of ``prefix``, with its
        last Latin word (or pinyin) read as the start of a word; shorter titles first."""
        parts = segment.query_terms(prefix)
        if not parts:
            return []
        *complete, last = parts
        conditions = [_meets(part, _doc.title_tsv) for part in complete]
        if last.pinyin or (len(last.phrase) == 1 and last.phrase[0].isascii()):
            typed = [_doc.title_tsv.bool_op("@@")(_tsquery(_lexeme(last.phrase[0]) + ":*"))]
            typed += [_pinyin_prefix(last.pinyin)] if last.pinyin else []
            conditions.append(or_(*typed))
        else:
            conditions.append(_meets(last, _doc.title_tsv))
        query = (
            select(_doc.title)
            .where(_visible(allowed), *conditions)
            .order_by(func.length(_doc.title_tsv), _doc.id)
            .limit(limit * 4)
        )
        with self._engine.connect() as connection:
            titles = connection.scalars(query).all()
        return list(dict.fromkeys(titles))[:limit]

    def doc_count(self):
        with self._engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(SEARCH_DOCUMENT))

    def ids_and_versions(self):
        """{id: version} of every indexed document, to find missing and stale ones."""
        with self._engine.connect() as connection:
            return dict(connection.execute(select(_doc.id, _doc.version)).all())

    def close(self):
        """Close the engine's pooled connections (the engine stays usable)."""
        self._engine.dispose()
