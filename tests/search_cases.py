"""Search cases every backend must pass. A backend's test module subclasses ``SearchCases`` and
provides two fixtures: ``index``, an index holding CORPUS shared by the module's tests, and
``open_index``, which opens an index on an empty store of the test's own (calling it again opens
the same store, as a restarted app would)."""
import random
import threading
from datetime import datetime

import pytest

EVERYONE = ["public", "school:1", "school:2"]
CORPUS = [
    dict(id=1, version="v1", title="人教版八年级数学《勾股定理》微课", description="勾股定理的证明方法。",
         visible_to="public", subject="数学", grade="八年级", form="微课",
         published_at=datetime(2022, 3, 1), views=30, rating=4.5),
    dict(id=2, version="v1", title="爱国主义教育主题班会", description="适用于九年级，附 Python 与 A01 资源包。",
         visible_to="public", subject="道德与法治", grade="九年级", form="课件",
         published_at=datetime(2023, 9, 1), views=80, rating=3.0),
    dict(id=3, version="v1", title="几何证明专项练习", description="勾股 与 定理 分开出现；2022 年版。",
         visible_to="public", subject="数学", grade="九年级", form="课件", views=5),
    dict(id=4, version="v1", title="直角三角形", description="复习课：勾股定理的证明",
         keywords=["勾股定理", "复习"], presenters=["张老师"], visible_to="public", subject="数学",
         grade="八年级", form="教学设计", published_at=datetime(2021, 1, 1), rating=5.0),
    dict(id=5, version="v1", title="校本课程 绝密暗号浔阳", visible_to="school:2", subject="语文"),
    dict(id=6, version="v1", title="校本课程 勾股树", visible_to="school:1", subject="数学"),
]


def ids(results):
    return sorted(int(hit.id) for hit in results.hits)


class SearchCases:
    @pytest.mark.parametrize(
        "query, expected",
        [
            ("勾股", [1, 3, 4, 6]),  # inside 勾股定理 and 勾股树
            ("人教", [1]),  # inside 人教版
            ("年级", [1, 2]),  # inside 八年级, 九年级
            ("浔", [5]),  # one character
            ("勾股定理", [1, 4]),  # not doc 3, where 勾股 and 定理 stand apart
            ('"勾股定理的证明"', [1, 4]),
            ('"数学勾股定理"', [1]),  # punctuation between is ignored
            ('"证明勾股定理"', []),
            ("aiguozhuyi", [2]),
            ("AiGuo", [2]),
            ("jiaoyu", [2]),  # from a later word of the title
            ("agzy", [2]),
            ("python", [2]),
            ("PYTHON", [2]),
            ("a01", [2]),
            ("2022", [3]),
            ("张老师", [4]),
            ("复习 三角形", [4]),
        ],
    )
    def test_recall(self, index, query, expected):
        assert ids(index.search(query, allowed=EVERYONE)) == expected

    def test_no_phrase_spans_two_fields(self, open_index):
        search_index = open_index()
        search_index.add_or_update([dict(id=1, title="勾股", keywords=["定理"], visible_to="public")])
        assert ids(search_index.search("勾股定理", allowed=["public"])) == []
        assert ids(search_index.search("勾股 定理", allowed=["public"])) == [1]

    def test_a_latin_run_of_thousands_of_letters_is_indexed_and_found(self, open_index):
        """A pasted link or code: longer than one term may be (PostgreSQL takes 2,047 bytes), it is cut
        into units, so the document is indexed and its words before and after are still found."""
        search_index = open_index()
        blob = "QmFzZTY0" * 500
        search_index.add_or_update([dict(id=1, title="课件下载", description=f"Python {blob} 勾股定理", visible_to="public")])
        for query in ("Python", "勾股定理", blob[:100]):
            assert ids(search_index.search(query, allowed=["public"])) == [1], query

    def test_title_match_outranks_description_match(self, index):
        hits = index.search("勾股定理", allowed=EVERYONE).hits
        assert [hit.id for hit in hits] == ["1", "4"]
        assert hits[0].score > hits[1].score

    def test_title_match_outranks_repeated_description_matches(self, open_index):
        search_index = open_index()
        search_index.add_or_update([
            dict(id=1, title="专题复习", description="圆的面积。" + "勾股定理的应用；" * 3, visible_to="public"),
            dict(id=2, title="勾股定理", description="圆的面积。", visible_to="public"),
        ])
        assert [hit.id for hit in search_index.search("勾股定理", allowed=["public"]).hits] == ["2", "1"]

    def test_equal_matches_rank_shorter_titles_first(self, open_index):
        search_index = open_index()
        search_index.add_or_update([
            {"id": 1, "visible_to": "public", "title": "八年级数学勾股定理复习课课件"},
            {"id": 2, "visible_to": "public", "title": "勾股定理"},
            {"id": 3, "visible_to": "public", "title": "复习", "description": "勾股定理"},
        ])
        hits = search_index.search("勾股定理", allowed=["public"]).hits
        assert [hit.id for hit in hits] == ["2", "1", "3"]
        assert hits[0].score > hits[1].score > hits[2].score

    def test_visibility(self, index):
        assert ids(index.search("绝密暗号", allowed=["public", "school:1"])) == []
        assert ids(index.search("绝密暗号", allowed=["public", "school:2"])) == [5]
        assert ids(index.search("", allowed=["public"])) == [1, 2, 3, 4]
        assert index.suggest("绝密", allowed=["public", "school:1"]) == []
        assert ids(index.search("校本课程", allowed=[])) == []

    def test_filters_and_facets_count_every_match_not_only_the_page(self, index):
        results = index.search(
            "", allowed=EVERYONE, filters={"subject": "数学"}, per_page=1, facets=["grade", "form"]
        )
        assert results.total == 4 and len(results.hits) == 1
        assert results.facets == {"grade": {"八年级": 2, "九年级": 1}, "form": {"微课": 1, "课件": 1, "教学设计": 1}}
        results = index.search("勾股", allowed=EVERYONE, filters={"form": ["微课", "教学设计"], "grade": "八年级"})
        assert ids(results) == [1, 4]
        with pytest.raises(ValueError):
            index.search("", allowed=EVERYONE, filters={"title": "x"})

    def test_sorts_put_documents_without_a_value_last(self, index):
        def order(sort):
            results = index.search("", allowed=["public"], sort=sort)
            assert all(hit.score is None for hit in results.hits)
            return [int(hit.id) for hit in results.hits]

        assert order("newest") == [2, 1, 4, 3]
        assert order("views") == [2, 1, 3, 4]
        assert order("rating") == [4, 1, 2, 3]

    def test_pages(self, index):
        pages = [index.search("", allowed=["public"], sort="views", page=page, per_page=3) for page in (1, 2, 3)]
        assert [page.total for page in pages] == [4, 4, 4]
        assert [[hit.id for hit in page.hits] for page in pages] == [["2", "1", "3"], ["4"], []]

    def test_highlights_are_plain_text_segments(self, index):
        (hit,) = index.search("勾股定理", allowed=EVERYONE, filters={"form": "微课"}).hits
        assert hit.highlights["title"] == [("人教版八年级数学《", False), ("勾股定理", True), ("》微课", False)]
        assert hit.highlights["description"] == [("勾股定理", True), ("的证明方法。", False)]

    def test_suggestions(self, index):
        assert index.suggest("勾股", allowed=["public"]) == ["人教版八年级数学《勾股定理》微课"]
        assert sorted(index.suggest("勾股", allowed=["public", "school:1"])) == [
            "人教版八年级数学《勾股定理》微课",
            "校本课程 勾股树",
        ]
        assert len(index.suggest("勾股", allowed=["public", "school:1"], limit=1)) == 1
        assert index.suggest("aiguo", allowed=["public"]) == ["爱国主义教育主题班会"]
        assert index.suggest("zhij", allowed=["public"]) == ["直角三角形"]  # pinyin typed so far
        assert index.suggest("", allowed=["public"]) == []

    def test_update_replaces_and_remove_removes(self, open_index):
        search_index = open_index()
        search_index.add_or_update(CORPUS[:2])
        assert ids(search_index.search("勾股", allowed=EVERYONE)) == [1]  # reads before the update
        search_index.add_or_update([dict(CORPUS[0], version="v2", title="新标题", description="无关内容")])
        assert ids(search_index.search("勾股", allowed=EVERYONE)) == []
        assert ids(search_index.search("新标题", allowed=EVERYONE)) == [1]
        assert search_index.ids_and_versions() == {"1": "v2", "2": "v1"}
        search_index.remove([2])
        assert ids(search_index.search("", allowed=EVERYONE)) == [1]
        assert search_index.doc_count() == 1
        # Opened again, the index keeps its documents.
        assert open_index().ids_and_versions() == {"1": "v2"}

    def test_filters_follow_index_changes(self, open_index):
        # Same visibility and filter before and after a write: what passed the filter then must not be reused.
        search_index = open_index()
        search_index.add_or_update([CORPUS[5]])
        assert ids(search_index.search("勾股", allowed=["school:1"], filters={"subject": "数学"})) == [6]
        search_index.add_or_update([dict(CORPUS[0], visible_to="school:1")])
        assert ids(search_index.search("勾股", allowed=["school:1"], filters={"subject": "数学"})) == [1, 6]
        search_index.add_or_update([dict(CORPUS[5], subject="语文")])
        assert ids(search_index.search("勾股", allowed=["school:1"], filters={"subject": "数学"})) == [1]

    def test_facet_counts_follow_writes_across_several_segments(self, open_index):
        search_index = open_index()
        for doc in CORPUS[:4]:  # one write each
            search_index.add_or_update([doc])

        def counts():
            return search_index.search("", allowed=EVERYONE, facets=["subject", "grade"]).facets

        assert counts() == {"subject": {"数学": 3, "道德与法治": 1}, "grade": {"八年级": 2, "九年级": 2}}
        search_index.add_or_update([dict(CORPUS[0], subject="物理")])
        search_index.remove([2])
        assert counts() == {"subject": {"数学": 2, "物理": 1}, "grade": {"八年级": 2, "九年级": 1}}
        assert search_index.search("勾股", allowed=EVERYONE, facets=["subject"]).facets == {
            "subject": {"数学": 2, "物理": 1}}

    def test_relevance_total_counts_every_match_beyond_the_page(self, open_index):
        # Hundreds of matches of uneven strength: once the top of the ranking is settled, weak matches can
        # no longer reach the page, yet the total must count every one of them, as the sorted search does.
        rng = random.Random(1)
        words = ["八年级", "九年级", "数学", "勾股定理", "教学设计", "复习", "课件", "练习", "人教版", "单元"]
        docs = [dict(id=n, title="".join(rng.sample(words, 3)), description="，".join(rng.sample(words, 5)),
                     visible_to="public") for n in range(1, 401)]
        search_index = open_index()
        search_index.add_or_update(docs)
        for query in ("八年级", "教学设计"):
            expected = sum(query in doc["title"] + doc["description"] for doc in docs)
            assert search_index.search(query, allowed=["public"], per_page=5).total == expected
            assert search_index.search(query, allowed=["public"], sort="newest", per_page=5).total == expected

    def test_rebuild_replaces_everything_in_one_write(self, open_index):
        search_index = open_index()
        search_index.add_or_update(CORPUS[:3])
        search_index.rebuild(doc for doc in (dict(CORPUS[0], version="v2"), CORPUS[3]))  # any iterable
        assert search_index.ids_and_versions() == {"1": "v2", "4": "v1"}
        assert ids(search_index.search("勾股", allowed=EVERYONE)) == [1, 4]
        search_index.rebuild([])
        assert search_index.doc_count() == 0

    def test_searching_from_several_threads(self, index):
        totals = []

        def search():
            totals.append(index.search("勾股", allowed=EVERYONE).total)

        threads = [threading.Thread(target=search) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert totals == [4, 4, 4, 4]

    def test_writing_from_several_threads_loses_nothing(self, open_index):
        """The worker runs tasks on several threads: writes at the same time take turns."""
        search_index = open_index()
        failures = []
        start = threading.Barrier(4)

        def write(thread):
            docs = [dict(id=thread * 100 + n, title=f"并发写入 第{thread}组", visible_to="public") for n in range(60)]
            start.wait()
            try:
                search_index.add_or_update(docs)
            except Exception as exc:  # reported by the assertion below
                failures.append(exc)

        threads = [threading.Thread(target=write, args=(thread,)) for thread in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        assert search_index.search("并发写入", allowed=EVERYONE).total == 240

    def test_merging_keeps_every_document_and_no_removed_one(self, open_index):
        search_index = open_index()
        for first in range(0, len(CORPUS), 2):  # three writes, so three parts
            search_index.add_or_update(CORPUS[first:first + 2])
        search_index.remove([3])
        search_index.merge()
        assert ids(search_index.search("勾股", allowed=EVERYONE)) == [1, 4, 6]
        assert search_index.search("", allowed=EVERYONE, facets=["subject"]).facets["subject"] == {
            "数学": 3, "道德与法治": 1, "语文": 1}
        assert search_index.merge() is False  # nothing left to merge

    def test_unknown_document_fields_are_refused(self, open_index):
        with pytest.raises(ValueError, match="titel"):
            open_index().add_or_update([dict(id=9, titel="错字", visible_to="public")])
