"""The embedded Whoosh search backend.

Writes must come from one writer at a time (the app funnels them through its queue). A process's
threads take turns (the worker runs several), and a writer waits up to WRITE_WAIT for another
process's lock (``reslib reindex``) before giving up with ``whoosh.index.LockError``.
Readers share idle searchers, each used by one thread at a time, and open a new one only when the
index has changed, since opening one costs 50–90 ms on a large index (a web process's read-ahead
thread renews them, see ``warm``). ``Searcher.refresh()`` is not used: in
whoosh-reloaded 2.7.5 it keeps the old segments, so updated and deleted documents come back.

A query is evaluated on bitmaps (Python ints, one bit per document, so that intersecting and counting
run in C) rather than through Whoosh's matchers and scorers, whose cost is in Python per matching
document (measured at 100,000 records: p95 166 ms against 26 ms this way). Kept per segment and shared
by all searchers (see ``_Segment``): each visibility token's, facet value's and title length's
documents, and the documents of the terms common enough to cost. A query ANDs the bitmaps of every
term of its parts with the searcher's visibility and filters, then reads term positions only in the
documents left (see ``_Leaf.holding_chain``). The total and facet counts are popcounts; relevance
is a handful of levels (parts found in the title, parts found as whole words, title length, see
``_relevance_levels``), so a page is read off the levels' bitmaps without scoring every match.
"""

import heapq
import re
import threading
from array import array
from bisect import bisect_left
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple

from whoosh import columns, index
from whoosh.analysis import Token as WhooshToken
from whoosh.analysis import Tokenizer
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.filedb.filestore import FileStorage
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema
from whoosh.matching import ReadTooFar
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import Or, Term
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
TITLE_LENGTH = "title length"  # the masks of documents by the number of tokens in their title
# A term in at least this share of a segment's documents keeps its bitmap (see _Segment.term_bits); up to
# KEPT_TERMS of them per segment, about 12 KB each per 100,000 documents.
COMMON_TERM_SHARE = 1 / 100
KEPT_TERMS = 1000
# Sorting by a field, a segment's matches are sorted when under 1/WALK_SHARE of its documents, else found along
# the segment's documents in that order (see _Leaf.by_value).
WALK_SHARE = 64
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
    the block one posting at a time in Python, and reading a common term's positions in a few of its
    documents (``_Leaf.holding_chain``) would spend most of its time there."""
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


def _tiles(chain) -> list[tuple[int, str]]:
    """(offset, term) of the chain's terms that together cover every unit it spans: a bigram covers its two
    units, any other term one. A document holding these at their offsets from one start holds the whole chain,
    since a bigram stands wherever its two characters stand in consecutive units."""
    spans = [2 if len(term) == 2 and not term.isascii() else 1 for term in chain]
    end = max(offset + span for offset, span in enumerate(spans))
    tiles, covered = [], 0
    for offset, (term, span) in enumerate(zip(chain, spans)):
        if offset >= covered:
            tiles.append((offset, term))
            covered = offset + span
    if covered < end:
        tiles.append((len(chain) - 1, chain[-1]))
    return tiles


def _joined(chain) -> str | None:
    """The Chinese text a chain of overlapping bigrams was made from (勾股 股定 定理 → 勾股定理), else None."""
    if not all(len(term) == 2 and not term.isascii() for term in chain):
        return None
    if any(earlier[1] != later[0] for earlier, later in zip(chain, chain[1:])):
        return None
    return chain[0] + "".join(term[1] for term in chain[1:])


def _any_of(value_masks: dict, values) -> int:
    mask = 0
    for value in values:
        mask |= value_masks.get(value, 0)
    return mask


def _bitmap(docnums, size) -> int:
    """The document numbers as bits of an int, so that intersecting and counting sets of documents are
    ``a & b`` and ``.bit_count()`` in C."""
    bits = bytearray(size // 8 + 1)
    for docnum in docnums:
        bits[docnum >> 3] |= 1 << (docnum & 7)
    return int.from_bytes(bits, "little")


_SET_BITS = [tuple(bit for bit in range(8) if byte >> bit & 1) for byte in range(256)]
_NONZERO_BYTE = re.compile(rb"[^\x00]")


def _docnums(bits: int):
    """The document numbers in a bitmap, in order."""
    data = bits.to_bytes((bits.bit_length() + 7) // 8, "little")
    for found in _NONZERO_BYTE.finditer(data):
        base = found.start() << 3
        for bit in _SET_BITS[data[base >> 3]]:
            yield base + bit


def _layers(within: int, bitmaps) -> list[int]:
    """[the documents of ``within`` in exactly k of ``bitmaps``, for k = 0, 1, … len(bitmaps)]."""
    layers = [within]
    for bits in bitmaps:
        # A document in ``bits`` moves up one layer.
        layers = [(layers[k] & ~bits if k < len(layers) else 0) | (layers[k - 1] & bits if k else 0)
                  for k in range(len(layers) + 1)]
    return layers


def _postings_bits(reader, fieldname, term, size) -> int:
    """The bitmap of a segment's documents holding ``term``, deleted ones included (callers mask them out, so
    that the bitmap can outlive a searcher)."""
    matcher = reader.postings(fieldname, term)
    if isinstance(matcher, FilterMatcher):  # the reader's own exclusion of deleted documents
        matcher = matcher.child
    return _bitmap(matcher.all_ids(), size)


def _segment_masks(reader):
    """{field: {value: bit mask of the segment's document numbers holding it}} for MASKED_FIELDS, and under
    TITLE_LENGTH {number of title tokens: mask}, which ranks shorter titles first."""
    size = reader.doc_count_all()
    masks = {name: {term.decode(): _postings_bits(reader, name, term, size) for term in reader.lexicon(name)}
             for name in MASKED_FIELDS}
    by_length = {}
    for docnum in range(size):
        by_length.setdefault(reader.doc_field_length(docnum, "title") or 0, []).append(docnum)
    masks[TITLE_LENGTH] = {length: _bitmap(docnums, size) for length, docnums in by_length.items()}
    return masks


def _segment_id(reader):
    """The id of the segment ``reader`` reads; None for an empty index's reader, which has nothing to keep."""
    segment = reader.segment() if hasattr(reader, "segment") else None
    return segment.segment_id() if segment is not None else None


class _Segment:
    """What the searches of one segment reuse, shared by every searcher and thread: its value masks and the
    bitmaps of its common terms. A segment never changes once written (a write adds segments or merges them
    into new ones); only its deletions grow, which ``live`` reads from the searcher's own reader."""

    def __init__(self, reader):
        self.segment_id = _segment_id(reader)
        self.size = reader.doc_count_all()
        self.masks = _segment_masks(reader)
        self._terms = OrderedDict()  # (field, term) → bitmap, least recently used first
        self._deleted = (0, 0)  # (how many documents were deleted, their bitmap)
        self._orders = {}  # sort field → see sort_order
        self._lock = threading.Lock()

    def term_bits(self, reader, fieldname, term) -> int:
        """The documents holding ``term`` (none where the segment lacks it); kept when the term is common,
        since reading its postings is what costs."""
        key = (fieldname, term)
        with self._lock:
            bits = self._terms.get(key)
            if bits is not None:
                self._terms.move_to_end(key)
                return bits
        if key not in reader:
            return 0
        bits = _postings_bits(reader, fieldname, term, self.size)
        if reader.doc_frequency(fieldname, term) >= self.size * COMMON_TERM_SHARE:
            with self._lock:
                self._terms[key] = bits
                if len(self._terms) > KEPT_TERMS:
                    self._terms.popitem(last=False)
        return bits

    def sort_order(self, reader, fieldname) -> tuple[array, array]:
        """(the documents by ``fieldname`` descending, then by number; each document's value), read on the
        first sort by the field. The values are the column's sortable integers, 0 for none."""
        with self._lock:
            kept = self._orders.get(fieldname)
        if kept is None:
            column = reader.column_reader(fieldname, translate=False) if self.size else []
            # Arrays, not lists: about 1.2 MB a field per 100,000 documents instead of 7.
            values = array("Q", (column[docnum] for docnum in range(self.size)))
            order = array("I", sorted(range(self.size), key=lambda docnum: -values[docnum]))  # stable: by number within a value
            kept = (order, values)
            with self._lock:
                self._orders[fieldname] = kept
        return kept

    def live(self, reader) -> int:
        """The bitmap of the segment's documents that ``reader`` does not see as deleted."""
        deleted = reader.deleted_docs_set if reader.has_deletions() else ()
        with self._lock:
            count, bits = self._deleted
        if count != len(deleted):  # a segment's deletions only grow: their number tells them apart
            bits = _bitmap(deleted, self.size)
            with self._lock:
                self._deleted = (len(deleted), bits)
        return ((1 << self.size) - 1) & ~bits


class _Leaf(NamedTuple):
    """One segment of a searcher: its reader, its first document's number in the searcher, and its _Segment."""

    reader: object
    offset: int
    kept: _Segment

    def visible(self, allow: int) -> int:
        """The segment's documents that the searcher's ``allow`` mask holds and that are not deleted."""
        return (allow >> self.offset) & self.kept.live(self.reader)

    def pinyin_bits(self, parts) -> dict:
        """{part: the documents with a title pinyin key (full or initials) starting with its letters} for
        the parts that may be pinyin."""
        return {part: self.prefix_bits(PINYIN_FIELDS[0], part.pinyin) | self.prefix_bits(PINYIN_FIELDS[1], part.pinyin)
                for part in parts if part.pinyin}

    def prefix_bits(self, fieldname, prefix) -> int:
        found = 0
        for term in self.reader.expand_prefix(fieldname, prefix):
            found |= _postings_bits(self.reader, fieldname, term, self.kept.size)
        return found

    def by_value(self, fieldname, matched):
        """(−value, number in the searcher) of the segment's documents in ``matched``, by ``fieldname``
        descending, then by number: a few are sorted, many are found along the segment's kept order."""
        local = (matched >> self.offset) & ((1 << self.kept.size) - 1)
        if not local:
            return
        order, values = self.kept.sort_order(self.reader, fieldname)
        if local.bit_count() * WALK_SHARE < self.kept.size:
            docnums = sorted(_docnums(local), key=lambda docnum: -values[docnum])
        else:
            data = local.to_bytes(self.kept.size // 8 + 1, "little")
            docnums = (docnum for docnum in order if data[docnum >> 3] >> (docnum & 7) & 1)
        for docnum in docnums:
            yield -values[docnum], self.offset + docnum

    def holding_terms(self, fieldname, chain, within) -> int:
        """The documents of ``within`` holding every term of ``chain``, anywhere in ``fieldname``."""
        reader = self.reader
        for term in sorted(set(chain), key=lambda term: reader.doc_frequency(fieldname, term)):
            within &= self.kept.term_bits(reader, fieldname, term)
            if not within:
                break
        return within

    def holding_chain(self, fieldname, chain, candidates) -> int:
        """The ``candidates`` (which hold every term of ``chain``) where its terms stand at consecutive
        positions in ``fieldname``. Where the chain's text is itself an indexed word (a jieba word of 3+
        characters), the documents holding that word hold the chain; only the others' positions are read."""
        if len(chain) < 2 or not candidates:
            return candidates
        whole = _joined(chain)
        sure = candidates & self.kept.term_bits(self.reader, fieldname, whole) if whole else 0
        unsure = candidates & ~sure
        if not unsure:
            return sure
        tiles = _tiles(chain)
        matchers = {term: self.reader.postings(fieldname, term) for _, term in tiles}
        held = []
        for docnum in _docnums(unsure):
            starts = None
            for offset, term in tiles:
                matcher = matchers[term]
                matcher.skip_to(docnum)
                at = {position - offset for position in matcher.value_as("positions")}
                starts = at if starts is None else starts & at
                if not starts:
                    break
            else:
                held.append(docnum)
        return sure | _bitmap(held, self.kept.size)

    def meeting(self, fieldname, parts, within, by_pinyin) -> int:
        """The documents of ``within`` meeting every part in ``fieldname``, or, for a part that may be pinyin,
        in ``by_pinyin`` (see ``pinyin_bits``). Every part's terms narrow the documents before any
        positions are read."""
        for part in parts:
            within &= self.holding_terms(fieldname, part.phrase, within) | by_pinyin.get(part, 0)
        for part in parts:
            sure = by_pinyin.get(part, 0) & within
            within = sure | self.holding_chain(fieldname, part.phrase, within & ~sure)
        return within


def _relevance_levels(matched, in_title, as_word, title_lengths) -> list[tuple[float, int]]:
    """(score, documents) from the most relevant down: by the number of query parts in the title (each worth
    TITLE_BOOST) and of parts found as whole words (each worth 1), then by title length, shortest first. A
    level's documents share its score (the length adds under 1, so it never outweighs a part)."""
    title_layers, word_layers = _layers(matched, in_title), _layers(matched, as_word)
    pairs = sorted(((t, w) for t in range(len(title_layers)) for w in range(len(word_layers))),
                   key=lambda pair: (TITLE_BOOST * pair[0] + pair[1], pair[0]), reverse=True)
    levels = []
    for t, w in pairs:
        both = title_layers[t] & word_layers[w]
        if not both:
            continue
        for length, bits in sorted(title_lengths.items()):
            if level := both & bits:
                levels.append((TITLE_BOOST * t + w + 1 / (1 + length), level))
    return levels


def _ranked_page(levels, start, stop) -> list[tuple[int, float]]:
    """(docnum, score) of the documents from ``start`` to ``stop`` in ``levels``' order, each level's in
    document order."""
    page, seen = [], 0
    for score, bits in levels:
        count = bits.bit_count()
        if seen + count > start:
            page += [(docnum, score) for docnum in islice(_docnums(bits), max(0, start - seen), stop - seen)]
        seen += count
        if seen >= stop:
            break
    return page


def _sorted_page(by_value, levels, start, stop) -> list[tuple[int, float]]:
    """(docnum, score) from ``start`` to ``stop`` of the documents ``by_value`` yields as (−value, docnum),
    those of equal value by relevance (their order in ``levels``)."""
    page, seen = [], 0
    for _, group in groupby(by_value, key=itemgetter(0)):
        docnums = [docnum for _, docnum in group]
        if seen + len(docnums) > start:
            among = _bitmap(docnums, docnums[-1] + 1)
            page += _ranked_page([(score, bits & among) for score, bits in levels], max(0, start - seen), stop - seen)
        seen += len(docnums)
        if seen >= stop:
            break
    return page


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
        self._segments = {}  # segment id → its _Segment, see _leaves
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
            self._masks(self._leaves(searcher))  # read once for the index's segments, shared by every searcher over them

    def _leaves(self, searcher) -> list[_Leaf]:
        """The searcher's segments, each with its _Segment, read once for each new segment. Those the index
        merged away are dropped when a new one appears (a merge writes one), by a searcher of the index as it
        is now; a searcher that is not keeps its own without dropping any."""
        leaves, new = [], False
        for leaf_searcher, offset in searcher.leaf_searchers():
            reader = leaf_searcher.reader()
            with self._lock:
                kept = self._segments.get(_segment_id(reader))
            if kept is None:
                kept, new = _Segment(reader), True
            leaves.append(_Leaf(reader, offset, kept))
        if new:
            current = {leaf.kept.segment_id: leaf.kept for leaf in leaves if leaf.kept.segment_id is not None}
            latest = searcher.reader().generation() == self._ix.latest_generation()
            with self._lock:
                self._segments = current if latest else {**self._segments, **current}
        return leaves

    def _masks(self, leaves):
        """{field: {value: bit mask of the searcher's document numbers holding it}} for MASKED_FIELDS and
        TITLE_LENGTH, combined from the ``leaves``' masks. The combination is kept for the searchers over the
        same segments (a deleted document stays in the masks; searches mask it out)."""
        key = tuple((leaf.kept, leaf.offset) for leaf in leaves)  # the _Segments themselves: an id() could be reused
        with self._lock:
            combined_key, masks = self._combined_masks
        if combined_key == key and masks is not None:
            return masks
        masks = {name: {} for name in (*MASKED_FIELDS, TITLE_LENGTH)}
        for leaf in leaves:
            for name, values in leaf.kept.masks.items():
                for value, mask in values.items():
                    masks[name][value] = masks[name].get(value, 0) | (mask << leaf.offset)
        with self._lock:
            self._combined_masks = (key, masks)
        return masks

    def _allowed(self, masks, filters, allowed) -> int:
        """The bit mask of documents carrying one of the ``allowed`` visibility tokens and every filter
        (a list of values means any of them)."""
        mask = _any_of(masks["visible_to"], allowed)
        for name, values in (filters or {}).items():
            if name not in FACET_FIELDS:
                raise ValueError(f"cannot filter on {name!r}")
            mask &= _any_of(masks[name], [str(value) for value in _as_list(values)])
        return mask

    def search(self, q, *, allowed, filters=None, sort="relevance", page=1, per_page=20, facets=()):
        """Page ``page`` of the documents matching query text ``q`` (all documents when it has
        no words) that carry one of the ``allowed`` visibility tokens ("public",
        "school:<id>") and every filter value (a list means any of its values).

        Relevance: parts found in the title (each worth TITLE_BOOST), parts found as whole words (each 1),
        then shorter titles (see ``_relevance_levels``)."""
        parts = segment.query_terms(q)
        words = [part for part in parts if part.word]
        start, stop = (page - 1) * per_page, page * per_page
        with self._searcher() as searcher:
            leaves = self._leaves(searcher)
            masks = self._masks(leaves)
            allow = self._allowed(masks, filters, allowed)
            matched, in_title, as_word = 0, [0] * len(parts), [0] * len(words)
            for leaf in leaves:
                by_pinyin = leaf.pinyin_bits(parts)
                found = leaf.meeting("content", parts, leaf.visible(allow), by_pinyin)
                if not found:
                    continue
                matched |= found << leaf.offset
                for i, part in enumerate(parts):
                    in_title[i] |= leaf.meeting("title", [part], found, by_pinyin) << leaf.offset
                for i, part in enumerate(words):
                    as_word[i] |= (found & leaf.kept.term_bits(leaf.reader, "content", part.word)) << leaf.offset
            levels = _relevance_levels(matched, in_title, as_word, masks[TITLE_LENGTH]) if parts else [(0.0, matched)]
            if sort == "relevance":
                ranked = _ranked_page(levels, start, stop)
            else:
                by_value = heapq.merge(*(leaf.by_value(SORT_FIELDS[sort], matched) for leaf in leaves))
                ranked = _sorted_page(by_value, levels, start, stop)
            terms = {term for part in parts for term in (*part.phrase, part.word) if term}
            hits = []
            for docnum, score in ranked:
                stored = searcher.stored_fields(docnum)
                title, description = stored.get("title", ""), stored.get("description", "")
                highlights = {
                    "title": segment.highlight(title, terms),
                    "description": segment.highlight(description, terms, max_chars=DESCRIPTION_EXCERPT),
                }
                hits.append(Hit(stored["id"], score if sort == "relevance" else None, highlights))
        facet_counts = {
            name: {value: count for value, mask in masks[name].items() if (count := (matched & mask).bit_count())}
            for name in facets
        }
        return Results(matched.bit_count(), hits, facet_counts)

    def suggest(self, prefix, *, allowed, limit=8):
        """Titles for a search box as the user types ``prefix``: titles containing its Chinese
        text, with its last Latin word (or pinyin) read as the start of a word; shorter titles first."""
        parts = segment.query_terms(prefix)
        if not parts:
            return []
        *complete, last = parts
        typed = last.pinyin or (len(last.phrase) == 1 and last.phrase[0].isascii())
        with self._searcher() as searcher:
            leaves = self._leaves(searcher)
            masks = self._masks(leaves)
            allow = self._allowed(masks, None, allowed)
            matched = 0
            for leaf in leaves:
                by_pinyin = leaf.pinyin_bits(parts)
                found = leaf.meeting("title", complete, leaf.visible(allow), by_pinyin)
                if typed:
                    found &= leaf.prefix_bits("title", last.phrase[0]) | by_pinyin.get(last, 0)
                else:
                    found = leaf.meeting("title", [last], found, by_pinyin)
                matched |= found << leaf.offset
            shortest_first = [bits for _, bits in sorted(masks[TITLE_LENGTH].items())]
            docnums = islice((docnum for bits in shortest_first for docnum in _docnums(matched & bits)), limit * 4)
            titles = [searcher.stored_fields(docnum)["title"] for docnum in docnums]
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
