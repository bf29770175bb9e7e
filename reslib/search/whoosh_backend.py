"""The embedded Whoosh search backend.

Writes must come from one writer at a time (the app funnels them through its queue). A process's
threads take turns (the worker runs several), and a writer waits up to WRITE_WAIT for another
process's lock (``reslib reindex``) before giving up with ``whoosh.index.LockError``.
Readers share idle searchers, each used by one thread at a time, and open a new one only when the
index has changed, since opening one costs 50–90 ms on a large index (a web process's read-ahead
thread renews them, see ``warm``). ``Searcher.refresh()`` is not used: in
whoosh-reloaded 2.7.5 it keeps the old segments, so updated and deleted documents come back.

A query's cost is in Python per matching document, so what does not depend on the query is kept:
each visibility token's and each facet value's documents, as bit masks per segment (shared by
all searchers, see ``_masks``). A query's visibility and filters are ORs and ANDs of those masks; every
match is scored, which counts the total on the way, and facet counts are the matches intersected
with each value's mask. Matching reads term positions only in documents that hold every term of the
query (see ``_Chains``).
"""

import threading
from bisect import bisect_left
from contextlib import contextmanager
from itertools import islice
from dataclasses import dataclass
from pathlib import Path

from whoosh import columns, index, sorting
from whoosh.analysis import Token as WhooshToken
from whoosh.analysis import Tokenizer
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.collectors import SortingCollector, TopCollector, WrappingCollector
from whoosh.filedb.filestore import FileStorage
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.matching import IntersectionMatcher, NullMatcher, ReadTooFar, WrappingMatcher
from whoosh.query import And, AndMaybe, Every, Or, Prefix, Query, Term
from whoosh.util.filelock import try_for
from whoosh.writing import CLEAR, OPTIMIZE

from reslib.search import segment

TITLE_BOOST = 3.0
TEXT_FIELDS = ("title", "description", "keywords", "presenters", "category_path", "catalogue_text")
PINYIN_FIELDS = ("title_pinyin", "title_initials")
# One value per document each; used for filters and facet counts.
FACET_FIELDS = (
    "kind", "form", "stage", "subject", "grade", "edition", "section", "column",
    "library", "file_type", "source", "grade_result", "year",
)
SORT_FIELDS = {"newest": "published_at", "views": "views", "rating": "rating"}
DESCRIPTION_EXCERPT = 160
# Fields whose values' documents are kept as bit masks: filters and facet counts come from them.
MASKED_FIELDS = ("visible_to", *FACET_FIELDS)
FIELD_SEPARATOR = "\x1f"
REPLACE_CHUNK = 1000  # documents whose earlier versions one query finds, see add_or_update
WRITE_WAIT = 30.0  # seconds a writer waits for another process to release the index
WRITER_LOCK = "MAIN_WRITELOCK"  # the file lock each Whoosh writer of the index takes (index name + "_WRITELOCK")
# Postings a write keeps in memory before sorting them through temporary files, which costs nearly twice
# the time; by Whoosh's estimate, so the process grows less (an import's 10,000-record write: ~660 MB resident).
WRITE_MEMORY_MB = 512


class ChineseTokenizer(Tokenizer):
    """Whoosh tokenizer over ``segment.tokens``: unit positions, character offsets. Texts
    joined by FIELD_SEPARATOR get a position gap between them, so no phrase spans two."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, mode="", **kwargs):
        token = WhooshToken(positions, chars, removestops=removestops, mode=mode, **kwargs)
        for text in value.split(FIELD_SEPARATOR):
            next_pos = start_pos
            for piece in segment.tokens(text):
                token.text = piece.text
                token.boost = 1.0
                token.stopped = False
                if keeporiginal:
                    token.original = piece.text
                if positions:
                    token.pos = start_pos + piece.pos
                if chars:
                    token.startchar = start_char + piece.start
                    token.endchar = start_char + piece.end
                next_pos = start_pos + piece.pos + 2
                yield token
            start_pos = next_pos
            start_char += len(text) + len(FIELD_SEPARATOR)


def _schema():
    chinese = ChineseTokenizer()
    return Schema(
        id=ID(stored=True, unique=True),
        version=STORED(),
        # Every text field, for matching: one phrase query per query part instead of one per field.
        content=TEXT(analyzer=chinese),
        # The title again, for ranking title matches first and for highlighting and suggestions.
        title=TEXT(analyzer=chinese, stored=True),
        description=STORED(),
        **{name: KEYWORD() for name in PINYIN_FIELDS},
        visible_to=KEYWORD(),
        **{name: ID(sortable=True) for name in FACET_FIELDS},
        # Sort columns store values in a sortable unsigned form: 0 is below any value, so
        # documents without one come last in the descending sorts.
        published_at=DATETIME(sortable=columns.NumericColumn("Q", default=0)),
        views=NUMERIC(int, bits=64, sortable=columns.NumericColumn("Q", default=0)),
        rating=NUMERIC(float, sortable=columns.NumericColumn("Q", default=0)),
    )


@dataclass
class Hit:
    id: str
    score: float | None  # relevance; None when sorted by a field
    # field → [(text, is_match), …]: plain text the app escapes and marks up itself
    highlights: dict[str, list[tuple[str, bool]]]


@dataclass
class Results:
    total: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]


def _as_list(value):
    return list(value) if isinstance(value, (list, tuple, set)) else [value]


def _document(doc):
    """Whoosh fields for one resource dict: id, version, visible_to (a token or a list), the
    TEXT_FIELDS (keywords, presenters and category_path may be lists), FACET_FIELDS and
    published_at (datetime), views, rating."""
    unknown = set(doc) - {"id", "version", "visible_to", *TEXT_FIELDS, *FACET_FIELDS, *SORT_FIELDS.values()}
    if unknown:
        raise ValueError(f"unknown search fields: {sorted(unknown)}")
    fields = {
        "id": str(doc["id"]),
        "version": str(doc.get("version", "")),
        # Every document names who may see it; a missing entry would make it invisible.
        "visible_to": " ".join(_as_list(doc["visible_to"])),
    }
    texts = [str(text) for name in TEXT_FIELDS if doc.get(name) for text in _as_list(doc[name])]
    fields["content"] = FIELD_SEPARATOR.join(texts)
    fields["title"] = str(doc.get("title") or "")
    fields["description"] = str(doc.get("description") or "")
    keys = segment.pinyin_word_keys(fields["title"])
    fields["title_pinyin"] = " ".join(full for full, _ in keys)
    fields["title_initials"] = " ".join(initials for _, initials in keys)
    for name in FACET_FIELDS:
        if doc.get(name) not in (None, ""):
            fields[name] = str(doc[name])
    for name in SORT_FIELDS.values():
        if doc.get(name) is not None:
            fields[name] = doc[name]
    return fields


def _skip_to_by_bisection(matcher, targetid):
    """``W3LeafMatcher.skip_to``, finding the posting in its block by bisection. Whoosh steps through
    the block one posting at a time in Python, and intersecting a rare term with a common one (数学 三年级)
    spent most of its time there."""
    if not matcher.is_active():
        raise ReadTooFar
    if targetid <= matcher.id():  # id() also reads the block's ids, which the bisection needs
        return
    if targetid > matcher.block_max_id():
        matcher._skip_to_block(lambda: targetid > matcher.block_max_id())
        if not matcher.is_active():
            return
        matcher.id()
    # The block's ids are sorted and its last is at least targetid: the posting is in this block.
    matcher._i = bisect_left(matcher._ids, targetid, matcher._i)


W3LeafMatcher.skip_to = _skip_to_by_bisection


class _Chains(Query):
    """Documents holding every chain of terms in ``fieldname``, each chain's terms at consecutive
    positions (a chain is a query part's phrase; a one-term chain is a plain term). The score is the
    sum of the distinct terms' scores.

    Whoosh's own Phrase reads positions in every document where that one phrase's terms meet, and
    an And of phrases then drops most of them (数学 三年级 read positions in thousands of documents
    holding 三年 and 年级 to find 227). Here every term of every chain is intersected first, rarest
    first, and positions are read only in documents holding all of them."""

    def __init__(self, fieldname, chains, boost=1.0):
        self.fieldname = fieldname
        self.chains = tuple(tuple(chain) for chain in chains)
        self.boost = boost
        self.distinct_terms = tuple(dict.fromkeys(term for chain in self.chains for term in chain))

    def __eq__(self, other):
        return (type(other) is type(self) and (self.fieldname, self.chains, self.boost)
                == (other.fieldname, other.chains, other.boost))

    def __hash__(self):
        return hash((self.fieldname, self.chains, self.boost))

    def __repr__(self):
        return f"_Chains({self.fieldname!r}, {self.chains!r}, boost={self.boost})"

    def terms(self, phrases=True):
        return ((self.fieldname, term) for term in self.distinct_terms)

    def estimate_size(self, ixreader):
        return min(ixreader.doc_frequency(self.fieldname, term) for term in self.distinct_terms)

    def matcher(self, searcher, context=None):
        reader = searcher.reader()
        if any((self.fieldname, term) not in reader for term in self.distinct_terms):
            return NullMatcher()
        term_matchers = {term: Term(self.fieldname, term, boost=self.boost).matcher(searcher, context)
                         for term in self.distinct_terms}
        rarest_first = sorted(term_matchers, key=lambda term: reader.doc_frequency(self.fieldname, term))
        intersection = term_matchers[rarest_first[0]]
        for term in rarest_first[1:]:
            intersection = IntersectionMatcher(intersection, term_matchers[term])
        chains = [[term_matchers[term] for term in chain] for chain in self.chains if len(chain) > 1]
        return _ChainsMatcher(intersection, chains) if chains else intersection


class _ChainsMatcher(WrappingMatcher):
    """Moves ``child`` (the intersection of every chain's terms, whose term matchers ``chains`` holds in
    chain order) on to the documents where each chain's terms stand at consecutive positions."""

    def __init__(self, child, chains):
        super().__init__(child)
        self._chains = chains
        self._skip_misses()

    def replace(self, minquality=0):
        # The chains hold the child's own term matchers: a replaced child would leave them behind.
        return self if self.is_active() else NullMatcher()

    def supports_block_quality(self):
        return False  # skipping blocks by quality would move the child past the chain check

    def _holds_chains(self) -> bool:
        for first, *rest in self._chains:
            starts = set(first.value_as("positions"))
            for distance, term in enumerate(rest, start=1):
                starts.intersection_update([position - distance for position in term.value_as("positions")])
                if not starts:
                    return False
        return True

    def _skip_misses(self):
        child = self.child
        while child.is_active() and not self._holds_chains():
            child.next()

    def next(self):
        self.child.next()
        self._skip_misses()

    def skip_to(self, id):
        self.child.skip_to(id)
        self._skip_misses()

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()


def _phrases(fieldname, parts, boost=1.0):
    """Documents holding every part's phrase in ``fieldname``, scored higher where they also hold a
    part's whole word."""
    query = _Chains(fieldname, [part.phrase for part in parts], boost=boost)
    words = [Term(fieldname, part.word, boost=boost) for part in parts if part.word]
    return AndMaybe(query, Or(words)) if words else query


def _match(parts, fieldname):
    """Documents meeting every part in ``fieldname`` (or, for pinyin, in the title pinyin). The parts
    without a pinyin alternative are matched together, as one ``_Chains``."""
    plain = [part for part in parts if not part.pinyin]
    conditions = [_phrases(fieldname, plain)] if plain else []
    conditions += [Or([_phrases(fieldname, [part]), *(Prefix(name, part.pinyin) for name in PINYIN_FIELDS)])
                   for part in parts if part.pinyin]
    return And(conditions) if len(conditions) > 1 else conditions[0]


def _ranked_match(parts):
    """``_match`` over all text, scoring title matches TITLE_BOOST times higher."""
    in_title = Or([_phrases("title", [part], TITLE_BOOST) for part in parts])
    return AndMaybe(_match(parts, "content"), in_title)


def _any_of(value_masks: dict, values) -> int:
    mask = 0
    for value in values:
        mask |= value_masks.get(value, 0)
    return mask


def _bitmap(docnums, size) -> int:
    """The document numbers as bits of an int, so that counting the intersection of two sets is one
    ``(a & b).bit_count()`` in C."""
    bits = bytearray(size // 8 + 1)
    for docnum in docnums:
        bits[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(bits, "little")


def _segment_masks(reader):
    """{field: {value: bit mask of the segment's document numbers holding it}} for MASKED_FIELDS."""
    size = reader.doc_count_all()
    return {name: {term.decode(): _bitmap(reader.postings(name, term).all_ids(), size)
                   for term in reader.lexicon(name)}
            for name in MASKED_FIELDS}


class _Matches(WrappingCollector):
    """Passes each match that the bit mask ``allow`` (bytes) holds on to ``child``, which ranks them,
    and marks it in a bit mask of document numbers, from which come the total and the facet counts."""

    def __init__(self, child, allow: bytes):
        super().__init__(child)
        self.allow = allow
        self.bits = bytearray(len(allow))

    def collect_matches(self):
        child, allow, bits, offset = self.child, self.allow, self.bits, self.offset
        for sub_docnum in child.matches():
            docnum = offset + sub_docnum
            if allow[docnum >> 3] & (1 << (docnum & 7)):
                bits[docnum >> 3] |= 1 << (docnum & 7)
                child.collect(sub_docnum)

    def matched(self) -> int:
        return int.from_bytes(self.bits, "little")


def _create(path: Path) -> None:
    """An empty index in ``path`` unless another process has made one meanwhile. Whoosh's create_in deletes
    every table of contents there, so two processes starting on a new instance (a web worker reading ahead,
    the worker writing) could otherwise wipe what one of them had just written: creating takes the writers'
    lock."""
    path.mkdir(parents=True, exist_ok=True)
    lock = FileStorage(str(path)).lock(WRITER_LOCK)
    if not try_for(lock.acquire, WRITE_WAIT):
        raise index.LockError(f"the search index in {path} stayed locked for {WRITE_WAIT:.0f} s")
    try:
        if not index.exists_in(path):
            index.create_in(path, _schema())
    finally:
        lock.release()


class WhooshIndex:
    def __init__(self, path):
        path = Path(path)
        if not index.exists_in(path):
            _create(path)
        self._ix = index.open_dir(path)
        self._idle = []  # searchers no thread is using, see _searcher
        self._segment_masks = {}  # segment id → value masks of its documents, see _masks
        self._combined_masks = ((), None)  # (segments and offsets, their masks combined), see _masks
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # Whoosh's own lock fails at once; this one waits

    # Writing (one writer at a time) -----------------------------------------------------

    @contextmanager
    def _writer(self, mergetype=None):
        """The index's writer, committed when the block ends, cancelled if it raises."""
        with self._write_lock:
            writer = self._ix.writer(timeout=WRITE_WAIT, limitmb=WRITE_MEMORY_MB)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=mergetype)

    def add_or_update(self, docs):
        """Index ``docs`` (any iterable, read in chunks), replacing any document with the same id."""
        documents = map(_document, docs)
        with self._writer() as writer:
            while chunk := list(islice(documents, REPLACE_CHUNK)):
                # One query finds the chunk's earlier versions: update_document() would open a searcher
                # over every segment for each document.
                writer.delete_by_query(Or([Term("id", document["id"]) for document in chunk]))
                for document in chunk:
                    writer.add_document(**document)

    def rebuild(self, docs):
        """Replace everything in the index with ``docs``, in one write that leaves one segment."""
        with self._writer(mergetype=CLEAR) as writer:  # the new segment only: every earlier one is dropped
            for doc in docs:
                writer.add_document(**_document(doc))

    def remove(self, ids):
        with self._writer() as writer:
            for doc_id in ids:
                writer.delete_by_term("id", str(doc_id))

    def merge(self) -> bool:
        """Merge the index into one segment without deleted documents, unless it is one already; returns
        whether it did. Every query pays for each segment, and a bulk import leaves several; merging costs
        about as much as indexing the documents again, so the worker does it at night."""
        with self._ix.searcher() as searcher:
            if searcher.is_atomic() and not searcher.reader().has_deletions():
                return False
        with self._writer(mergetype=OPTIMIZE):
            pass  # a write of nothing, whose commit merges every segment into its own
        return True

    # Reading ----------------------------------------------------------------------------

    def _drop_outdated(self) -> int:
        """Close the idle searchers opened before the index last changed; returns how many there were."""
        latest = self._ix.latest_generation()
        with self._lock:
            outdated = [searcher for searcher in self._idle if searcher.reader().generation() != latest]
            self._idle = [searcher for searcher in self._idle if searcher not in outdated]
        for searcher in outdated:
            searcher.close()
        return len(outdated)

    @contextmanager
    def _searcher(self):
        """A searcher of the index as it is now, for the block, used by one thread at a time: an idle one
        when there is one, else a new one (50–90 ms, more with several segments, which is why the
        read-ahead thread renews the idle ones, see ``warm``)."""
        self._drop_outdated()
        with self._lock:
            searcher = self._idle.pop() if self._idle else None
        if searcher is None:
            searcher = self._ix.searcher()
        try:
            yield searcher
        finally:
            with self._lock:
                self._idle.append(searcher)

    def warm(self):
        """Read ahead what the next searches would read: open a searcher for each idle one the index has
        outdated (the threads that used them will search again), or one if none is idle, and keep the bit
        masks of new segments (half a second to open and nearly a second for the masks of 100,000
        records). A web process calls it now and then from a thread of its own
        (``services.search.keep_warm``), so that after a start or a write no search waits for them."""
        outdated = self._drop_outdated()
        with self._lock:
            wanted = outdated or (0 if self._idle else 1)
        renewed = [self._ix.searcher() for _ in range(wanted)]
        with self._lock:
            self._idle.extend(renewed)
        with self._searcher() as searcher:
            self._masks(searcher)  # read once for the index's segments, shared by every searcher over them

    def _masks(self, searcher):
        """{field: {value: bit mask of the searcher's document numbers holding it}} for MASKED_FIELDS.
        Built from masks per segment, which outlive searchers and are shared by threads: a segment never
        changes once written (a write adds segments or merges them into new ones; a deleted document
        stays in its segment's masks but never matches), so after a write only new segments are read.
        The combination is kept for the searchers over the same segments."""
        leaves = []  # (segment id or None, reader, offset)
        for leaf, offset in searcher.leaf_searchers():
            reader = leaf.reader()
            segment = reader.segment() if hasattr(reader, "segment") else None
            leaves.append((segment.segment_id() if segment is not None else None, reader, offset))
        key = tuple((segment_id, offset) for segment_id, _, offset in leaves)
        with self._lock:
            combined_key, masks = self._combined_masks
        if combined_key == key and masks is not None:
            return masks
        masks = {name: {} for name in MASKED_FIELDS}
        live = {}
        for segment_id, reader, offset in leaves:
            if segment_id is None:  # an empty index's reader: nothing to keep
                segment_masks = _segment_masks(reader)
            else:
                with self._lock:
                    segment_masks = self._segment_masks.get(segment_id)
                if segment_masks is None:
                    segment_masks = _segment_masks(reader)
                live[segment_id] = segment_masks
            for name, values in segment_masks.items():
                for value, mask in values.items():
                    masks[name][value] = masks[name].get(value, 0) | (mask << offset)
        with self._lock:
            self._segment_masks.update(live)
            for segment_id in set(self._segment_masks) - set(live):  # merged away
                del self._segment_masks[segment_id]
            self._combined_masks = (key, masks)  # the index as it is now; an older searcher recombines its own
        return masks

    def _allowed(self, searcher, filters, allowed) -> bytes:
        """The bit mask of documents carrying one of the ``allowed`` visibility tokens and every filter
        (a list of values means any of them), as bytes for quick lookups while collecting."""
        masks = self._masks(searcher)
        mask = _any_of(masks["visible_to"], allowed)
        for name, values in (filters or {}).items():
            if name not in FACET_FIELDS:
                raise ValueError(f"cannot filter on {name!r}")
            mask &= _any_of(masks[name], [str(value) for value in _as_list(values)])
        return mask.to_bytes(searcher.doc_count_all() // 8 + 1, "little")

    def search(self, q, *, allowed, filters=None, sort="relevance", page=1, per_page=20, facets=()):
        """Page ``page`` of the documents matching query text ``q`` (all documents when it has
        no words) that carry one of the ``allowed`` visibility tokens ("public",
        "school:<id>") and every filter value (a list means any of its values)."""
        parts = segment.query_terms(q)
        query = _ranked_match(parts) if parts else Every()
        with self._searcher() as searcher:
            allow = self._allowed(searcher, filters, allowed)
            if sort == "relevance":
                # Whoosh's own top-N collector would skip low-scoring blocks and prune query branches;
                # every match must be seen here, to count it and its facet values.
                ranking = TopCollector(page * per_page, usequality=False, replace=0)
            else:
                ranking = SortingCollector([sorting.FieldFacet(SORT_FIELDS[sort], reverse=True), sorting.ScoreFacet()],
                                           limit=page * per_page)
            collector = _Matches(ranking, allow)
            searcher.search_with_collector(query, collector)
            results = collector.results()
            terms = {term for part in parts for term in (*part.phrase, part.word) if term}
            hits = []
            for hit in results[(page - 1) * per_page : page * per_page]:
                title, description = hit.get("title", ""), hit.get("description", "")
                highlights = {
                    "title": segment.highlight(title, terms),
                    "description": segment.highlight(description, terms, max_chars=DESCRIPTION_EXCERPT),
                }
                # Sorted by a field, Whoosh reports the sort key as the hit's score.
                hits.append(Hit(hit["id"], hit.score if sort == "relevance" else None, highlights))
            masks = self._masks(searcher)
        matched = collector.matched()
        facet_counts = {
            name: {value: count for value, mask in masks[name].items() if (count := (matched & mask).bit_count())}
            for name in facets
        }
        return Results(matched.bit_count(), hits, facet_counts)

    def suggest(self, prefix, *, allowed, limit=8):
        """Titles for a search box as the user types ``prefix``: titles containing its Chinese
        text, with its last Latin word (or pinyin) read as the start of a word."""
        parts = segment.query_terms(prefix)
        if not parts:
            return []
        *complete, last = parts
        conditions = [_match(complete, "title")] if complete else []
        if last.pinyin or (len(last.phrase) == 1 and last.phrase[0].isascii()):
            typed = [Prefix("title", last.phrase[0])]
            typed += [Prefix(name, last.pinyin) for name in PINYIN_FIELDS] if last.pinyin else []
            conditions.append(Or(typed))
        else:
            conditions.append(_match([last], "title"))
        with self._searcher() as searcher:
            collector = _Matches(TopCollector(limit * 4), self._allowed(searcher, None, allowed))
            searcher.search_with_collector(And(conditions), collector)
            titles = [hit["title"] for hit in collector.results()]
        return list(dict.fromkeys(titles))[:limit]

    def doc_count(self):
        with self._searcher() as searcher:
            return searcher.doc_count()

    def ids_and_versions(self):
        """{id: version} of every indexed document, to find missing and stale ones."""
        with self._searcher() as searcher:
            return {fields["id"]: fields["version"] for fields in searcher.all_stored_fields()}

    def close(self):
        """Close the idle searchers; one in use goes back to the idle ones when its search ends."""
        with self._lock:
            idle, self._idle = self._idle, []
        for searcher in idle:
            searcher.close()
