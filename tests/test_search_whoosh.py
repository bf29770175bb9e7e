import random
import threading

import pytest
from search_cases import CORPUS, EVERYONE, SearchCases

from reslib.search import whoosh_backend
from reslib.search.whoosh_backend import WhooshIndex


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    search_index = WhooshIndex(tmp_path_factory.mktemp("search"))
    search_index.add_or_update(CORPUS)
    yield search_index
    search_index.close()


@pytest.fixture
def open_index(tmp_path):
    opened = []

    def open_():
        opened.append(WhooshIndex(tmp_path))
        return opened[-1]

    yield open_
    for search_index in opened:
        search_index.close()


class TestWhoosh(SearchCases):
    pass


def test_merging_leaves_one_segment(open_index):
    search_index = open_index()
    for first in range(0, len(CORPUS), 2):
        search_index.add_or_update(CORPUS[first:first + 2])
    assert len(search_index._ix._segments()) == 3
    search_index.search("勾股", allowed=EVERYONE)  # keeps what it read of the three segments
    assert search_index.merge() is True
    assert len(search_index._ix._segments()) == 1
    assert search_index.search("勾股", allowed=EVERYONE).total == 4
    # what was kept of the segments merged away is dropped
    assert set(search_index._segments) == {segment.segment_id() for segment in search_index._ix._segments()}


def test_a_write_larger_than_a_chunk_replaces_every_earlier_version(open_index, monkeypatch):
    monkeypatch.setattr(whoosh_backend, "REPLACE_CHUNK", 2)
    search_index = open_index()
    search_index.add_or_update(CORPUS)
    search_index.add_or_update(dict(doc, version="v2") for doc in CORPUS)  # three chunks, from a generator
    assert search_index.doc_count() == len(CORPUS)
    assert search_index.ids_and_versions() == {str(doc["id"]): "v2" for doc in CORPUS}


def warm_from_another_thread(search_index):
    """As the web process's read-ahead thread does."""
    thread = threading.Thread(target=search_index.warm)
    thread.start()
    thread.join()


def test_warming_reads_new_segments_ahead_of_searches(open_index, monkeypatch):
    read = []  # document counts of the segments whose masks were read
    read_masks = whoosh_backend._segment_masks
    monkeypatch.setattr(whoosh_backend, "_segment_masks",
                        lambda reader: read.append(reader.doc_count_all()) or read_masks(reader))
    search_index = open_index()
    search_index.add_or_update(CORPUS[:4])
    search_index.add_or_update(CORPUS[4:])

    warm_from_another_thread(search_index)
    assert sorted(read) == [2, 4]
    assert search_index.search("勾股", allowed=EVERYONE).total == 4
    assert len(read) == 2  # the search read nothing itself
    search_index.add_or_update([dict(CORPUS[0], id=7)])
    warm_from_another_thread(search_index)
    assert read[2:] == [1]  # only the new segment
    assert search_index.search("勾股", allowed=EVERYONE).total == 5
    assert len(read) == 3


def test_opening_never_wipes_an_index_another_process_has_just_made(tmp_path, monkeypatch):
    other = WhooshIndex(tmp_path)
    other.add_or_update(CORPUS)
    other.close()
    exists_in, checks = whoosh_backend.index.exists_in, []

    def made_after_the_first_check(path):  # as when another process creates and writes it in between
        checks.append(path)
        return len(checks) > 1 and exists_in(path)

    monkeypatch.setattr(whoosh_backend.index, "exists_in", made_after_the_first_check)
    search_index = WhooshIndex(tmp_path)
    try:
        assert search_index.doc_count() == len(CORPUS)
    finally:
        search_index.close()


def test_searches_use_the_searchers_warming_renews(open_index, monkeypatch):
    search_index = open_index()
    search_index.add_or_update(CORPUS)
    opened = []
    open_searcher = search_index._ix.searcher
    monkeypatch.setattr(search_index._ix, "searcher", lambda **kwargs: opened.append(1) or open_searcher(**kwargs))

    warm_from_another_thread(search_index)
    assert len(opened) == 1
    assert search_index.search("勾股", allowed=EVERYONE).total == 4
    search_index.add_or_update([dict(CORPUS[0], id=7)])
    warm_from_another_thread(search_index)
    assert len(opened) == 2  # the outdated one renewed
    assert search_index.search("勾股", allowed=EVERYONE).total == 5  # the write is seen
    assert len(opened) == 2  # and no search opened one
    search_index.add_or_update([dict(CORPUS[0], id=8)])
    assert search_index.search("勾股", allowed=EVERYONE).total == 6  # unwarmed, a search opens its own
    assert len(opened) == 3


def test_skipping_along_postings_lands_where_stepping_would(open_index):
    search_index = open_index()
    # 数学 in every third of 1,000 documents: its postings span several blocks.
    search_index.add_or_update({"id": n, "visible_to": "public", "title": "数学" if n % 3 == 0 else "语文"}
                               for n in range(1000))
    with search_index._searcher() as searcher:
        reader = searcher.reader()
        stepped = list(reader.postings("content", "数学").all_ids())
        assert len(stepped) == 334
        matcher = reader.postings("content", "数学")
        for target in [*range(0, 1000, 7), 1000]:  # one matcher skipping ever further, as an intersection does
            matcher.skip_to(target)
            expected = next((docnum for docnum in stepped if docnum >= target), None)
            if expected is None:  # past the last posting, only at 1000
                assert not matcher.is_active()
            else:
                assert matcher.id() == expected
        assert not matcher.is_active()


def test_every_part_of_a_query_must_stand_whole_in_one_text(open_index):
    search_index = open_index()
    search_index.add_or_update([
        {"id": 1, "visible_to": "public", "title": "三年级数学"},
        {"id": 2, "visible_to": "public", "title": "三年计划", "description": "年级数学"},  # 三年 and 年级 apart
        {"id": 3, "visible_to": "public", "title": "哈哈哈 数学"},
        {"id": 4, "visible_to": "public", "title": "哈哈 数学"},  # 哈哈 once, where 哈哈哈 needs it twice in a row
    ])

    def found(text):
        return sorted(hit.id for hit in search_index.search(text, allowed=["public"]).hits)

    assert found("三年级 数学") == ["1"]
    assert found("数学 三年级") == ["1"]
    assert found("哈哈哈") == ["3"]
    assert found("数学 哈哈哈") == ["3"]
    assert found("三年 年级") == ["1", "2"]


@pytest.mark.parametrize("walk_share", [1, 10**6])  # sorting by views: along the kept order, or the matches sorted
def test_phrases_match_exactly_across_segments_updates_and_deletions(open_index, monkeypatch, walk_share):
    """Every quoted phrase finds exactly the documents whose title or description contains it, sorted by
    relevance or by views (those without any last), while the index has several segments, replaced and
    deleted documents, and common terms' kept bitmaps and sort orders."""
    monkeypatch.setattr(whoosh_backend, "WALK_SHARE", walk_share)
    rng = random.Random(7)
    alphabet = "勾股定理数学三年级教育"  # jieba words among them (勾股定理, 三年级) index beside the bigrams

    def text():
        return "".join(rng.choice(alphabet) for _ in range(rng.randint(3, 12)))

    search_index = open_index()
    docs = {n: {"id": n, "visible_to": "public", "title": text(), "description": text(),
                "views": rng.choice([None, 1, 2, 3])} for n in range(200)}
    for first in range(0, 200, 50):  # four writes: four segments
        search_index.add_or_update(docs[n] for n in range(first, first + 50))
    queries = ['"' + text()[:rng.randint(2, 5)] + '"' for _ in range(40)]

    def check():
        for query in queries:
            phrase = query.strip('"')
            expected = sorted(str(n) for n, doc in docs.items() if phrase in doc["title"] or phrase in doc["description"])
            results = search_index.search(query, allowed=["public"], per_page=len(docs))
            assert (results.total, sorted(hit.id for hit in results.hits)) == (len(expected), expected), query
            by_views = [hit.id for hit in search_index.search(query, allowed=["public"], sort="views", per_page=7).hits]
            views = [-1 if docs[int(id_)]["views"] is None else docs[int(id_)]["views"] for id_ in by_views]
            assert views == sorted(views, reverse=True), query
            assert views == sorted((-1 if docs[int(id_)]["views"] is None else docs[int(id_)]["views"]
                                    for id_ in expected), reverse=True)[:7], query

    check()  # also keeps the common terms' bitmaps, which the changes below must not outdate
    for n in rng.sample(sorted(docs), 30):
        docs[n] = dict(docs[n], title=text())
    search_index.add_or_update(docs[n] for n in sorted(docs) if n % 7 == 0)
    removed = rng.sample(sorted(docs), 25)
    search_index.remove(removed)
    for n in removed:
        del docs[n]
    search_index.add_or_update(docs.values())
    check()
