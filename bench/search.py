"""Search: the Whoosh backend against SQLite FTS5 over the same generated corpus and segmentation.

Figures: query latency p50/p95 over the fixed query set (warm, each query timed on both engines
back to back), index build rate, and the memory a process needs to hold the index open and search it.

FTS5 holds, per text, one token for each unit position of ``segment.tokens``: the bigram starting
there, else the unit itself (a character or a Latin word). A query part's chain of terms
(``QueryPart.phrase``) is then an FTS5 phrase of the same terms, except that a chain ending in a lone
character needs that position's token to start with the character (a prefix query). Every query's
total is compared between the two, so the baseline is known to find the same records.
"""
import math
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import corpus
from bench.common import REPO_ROOT, BenchError, Figure
from reslib.search import segment
from reslib.search.whoosh_backend import DESCRIPTION_EXCERPT, FACET_FIELDS, TEXT_FIELDS, TITLE_BOOST, WhooshIndex

P95_TARGET = 2.0  # Whoosh's p95 may be at most this many times FTS5's
MEASURED_PASSES = 3  # timed passes over the query set, after one untimed pass that warms both engines
FIELD_GAP = "¦"  # an FTS5 token between two texts of one column, so no phrase spans them; never a query term
PER_PAGE = 20
RSS_PROBE = "--rss-probe"


def figures() -> list[Figure]:
    count = corpus.record_count()
    records = list(corpus.records(count))
    queries = corpus.queries()
    with tempfile.TemporaryDirectory(prefix="bench-search-") as workdir:
        whoosh_path, fts_path = Path(workdir, "whoosh"), Path(workdir, "fts5.sqlite")
        whoosh_seconds = _timed(lambda: _build_whoosh(whoosh_path, records))
        fts_seconds = _timed(lambda: _build_fts(fts_path, records))
        index = WhooshIndex(whoosh_path)
        fts = _Fts5(fts_path)
        try:
            mismatches = _compare_totals(index, fts, queries)
            whoosh_ms, fts_ms = _latencies(index, fts, queries)
        finally:
            index.close()
            fts.close()
        baseline_kib = _peak_rss_kib(queries, None)
        open_kib = _peak_rss_kib(queries, whoosh_path)
    return [
        _latency_figure("search p50 (Whoosh)", _percentile(whoosh_ms, 0.50), _percentile(fts_ms, 0.50), count,
                        mismatches, target=None),
        _latency_figure("search p95 (Whoosh)", _percentile(whoosh_ms, 0.95), _percentile(fts_ms, 0.95), count,
                        mismatches, target=P95_TARGET),
        _report_figure("index build (Whoosh)", count / whoosh_seconds, count / fts_seconds, "records/s", count),
        _report_figure("worker RSS with index open", open_kib / 1024, baseline_kib / 1024, "MB peak RSS", count),
    ]


def _percentile(samples: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest sample at least ``share`` of the samples are at or below."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _timed(build) -> float:
    start = time.perf_counter()
    build()
    return time.perf_counter() - start


def _latency_figure(name, whoosh_ms, fts_ms, count, mismatches, target) -> Figure:
    """Whoosh against FTS5; ``target`` None reports the figure without one."""
    ratio = whoosh_ms / fts_ms
    return Figure(
        name=name,
        value=round(whoosh_ms, 2),
        baseline=round(fts_ms, 2),
        ratio=round(ratio, 3),
        unit="ms",
        corpus_size=count,
        target=0 if target is None else target,
        # A total that differs from FTS5's means a wrong result, or a baseline doing other work.
        passed=(target is None or ratio <= target) and mismatches == 0,
        tool="python",
        errors=mismatches,
        lower_is_better=target is not None,
    )


def _report_figure(name, value, baseline, unit, count) -> Figure:
    """A figure reported without a target."""
    return Figure(name=name, value=round(value, 1), baseline=round(baseline, 1), ratio=round(value / baseline, 3),
                  unit=unit, corpus_size=count, target=0, passed=True, tool="python", errors=0)


# --- Whoosh -----------------------------------------------------------------------------

def _build_whoosh(path: Path, records: list[dict]) -> None:
    index = WhooshIndex(path)
    try:
        index.add_or_update(records)
    finally:
        index.close()


def _search_whoosh(index: WhooshIndex, query: corpus.Query) -> int:
    return index.search(query.text, allowed=query.allowed, filters=query.filters, per_page=PER_PAGE).total


# --- SQLite FTS5 --------------------------------------------------------------------------

def _fts_tokens(text: str) -> list[str]:
    """One token per unit position of ``segment.tokens(text)``: the bigram starting there, else the unit."""
    units, bigrams = {}, {}
    for token in segment.tokens(text):
        if token.text.isascii() or len(token.text) == 1:
            units[token.pos] = token.text
        elif len(token.text) == 2:
            bigrams[token.pos] = token.text
        # Words of 3+ characters share their first unit's position: a second token there would
        # shift every position after it.
    return [bigrams.get(pos, unit) for pos, unit in sorted(units.items())]


def _fts_column(texts) -> str:
    return f" {FIELD_GAP} ".join(" ".join(_fts_tokens(str(text))) for text in texts if text)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _build_fts(path: Path, records: list[dict]) -> None:
    connection = sqlite3.connect(path)
    try:
        with connection:
            connection.execute(
                f"CREATE TABLE resource (rowid INTEGER PRIMARY KEY, id TEXT, visible_to TEXT, title TEXT, "
                f"description TEXT, {', '.join(f'{name} TEXT' for name in FACET_FIELDS)})"
            )
            # The ascii tokenizer splits only at ASCII spaces and punctuation: each Chinese token stays whole.
            connection.execute("CREATE VIRTUAL TABLE resource_text USING fts5(title, body, pinyin, tokenize='ascii')")
            columns = ["rowid", "id", "visible_to", "title", "description", *FACET_FIELDS]
            rows, texts = [], []
            for rowid, doc in enumerate(records, start=1):
                rows.append([rowid, str(doc["id"]), doc["visible_to"], doc["title"], doc.get("description") or "",
                             *(doc.get(name) for name in FACET_FIELDS)])
                body = [text for name in TEXT_FIELDS if name != "title" and doc.get(name)
                        for text in _as_list(doc[name])]
                pinyin = " ".join(key for pair in segment.pinyin_word_keys(doc["title"]) for key in pair)
                texts.append([rowid, _fts_column([doc["title"]]), _fts_column(body), pinyin])
            connection.executemany(
                f"INSERT INTO resource ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)
            connection.executemany("INSERT INTO resource_text (rowid, title, body, pinyin) VALUES (?, ?, ?, ?)", texts)
    finally:
        connection.close()


def _fts_match(parts: list[segment.QueryPart]) -> str:
    """The FTS5 MATCH expression of a query's parts, meeting them as ``WhooshIndex.search`` does."""
    conditions = []
    for part in parts:
        last = part.phrase[-1]
        prefix = "*" if len(last) == 1 and not last.isascii() else ""
        condition = f'{{title body}} : "{" ".join(part.phrase)}"{prefix}'
        if part.pinyin:
            condition = f"({condition} OR pinyin : {part.pinyin}*)"
        conditions.append(condition)
    return " AND ".join(conditions)


class _Fts5:
    """The baseline search: what ``WhooshIndex.search`` returns (a page of hits with highlighted
    title and description, and the total), from FTS5 ranked by bm25 with the title boosted."""

    def __init__(self, path: Path):
        self._connection = sqlite3.connect(path)

    def search(self, query: corpus.Query) -> int:
        parts = segment.query_terms(query.text)
        conditions = [f"r.visible_to IN ({', '.join('?' * len(query.allowed))})"]
        values = [_fts_match(parts), *query.allowed]
        for name, value in query.filters.items():
            conditions.append(f"r.{name} = ?")
            values.append(value)
        # bm25() works only in the query that scans the FTS5 table, hence the subquery.
        rows = self._connection.execute(
            "SELECT r.id, r.title, r.description, count(*) OVER () FROM "
            f"(SELECT rowid, bm25(resource_text, {TITLE_BOOST}, 1.0, 0.0) AS score FROM resource_text "
            "WHERE resource_text MATCH ?) AS matched "
            f"JOIN resource AS r ON r.rowid = matched.rowid WHERE {' AND '.join(conditions)} "
            "ORDER BY matched.score LIMIT ?",
            [*values, PER_PAGE],
        ).fetchall()
        terms = {term for part in parts for term in (*part.phrase, part.word) if term}
        for _id, title, description, _total in rows:
            segment.highlight(title, terms)
            segment.highlight(description, terms, max_chars=DESCRIPTION_EXCERPT)
        return rows[0][3] if rows else 0

    def close(self):
        self._connection.close()


# --- Measuring ----------------------------------------------------------------------------

def _compare_totals(index: WhooshIndex, fts: _Fts5, queries: list[corpus.Query]) -> int:
    """Run every query once on both engines (which also warms them); returns how many totals differ."""
    mismatches = []
    for query in queries:
        whoosh_total, fts_total = _search_whoosh(index, query), fts.search(query)
        if whoosh_total != fts_total:
            mismatches.append(f"{query.text!r} {query.filters}: Whoosh {whoosh_total}, FTS5 {fts_total}")
    if mismatches:
        print(f"search: {len(mismatches)} queries found different totals, e.g. {mismatches[:5]}", file=sys.stderr)
    return len(mismatches)


def _latencies(index: WhooshIndex, fts: _Fts5, queries: list[corpus.Query]) -> tuple[list[float], list[float]]:
    """Milliseconds of each query on each engine, the two timed back to back so drift hits both alike."""
    whoosh_ms, fts_ms = [], []
    for _ in range(MEASURED_PASSES):
        for query in queries:
            whoosh_ms.append(_milliseconds(lambda: _search_whoosh(index, query)))
            fts_ms.append(_milliseconds(lambda: fts.search(query)))
    return whoosh_ms, fts_ms


def _milliseconds(search) -> float:
    start = time.perf_counter()
    search()
    return (time.perf_counter() - start) * 1000


def _peak_rss_kib(queries: list[corpus.Query], index_path: Path | None) -> int:
    """Peak RSS of a fresh process that runs the query set on the index at ``index_path``, or, without
    one, only segments the queries (loading what searching needs besides the index)."""
    cmd = [sys.executable, "-m", "bench.search", RSS_PROBE, *([str(index_path)] if index_path else [])]
    done = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise BenchError(f"{' '.join(cmd)} failed with status {done.returncode}:\n{done.stderr[-3000:]}")
    return int(done.stdout.strip())


def _rss_probe(index_path: str | None) -> None:
    queries = corpus.queries()
    if index_path is None:
        for query in queries:
            segment.query_terms(query.text)
    else:
        index = WhooshIndex(index_path)
        for query in queries:
            _search_whoosh(index, query)
        index.close()
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(line.split()[1])  # in kB


if __name__ == "__main__":
    if sys.argv[1:2] != [RSS_PROBE]:
        sys.exit(f"usage: python -m bench.search {RSS_PROBE} [INDEX_DIR]  (the bench runs this itself)")
    _rss_probe(sys.argv[2] if len(sys.argv) > 2 else None)
