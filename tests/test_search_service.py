"""Search through the service: recall, ranking, filters, facets, who finds what, and an index that follows
the libraries through the queue (publish, withdraw, delete, new versions, usage counts)."""
import runpy
import threading
import time
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from werkzeug.exceptions import Forbidden

from reslib.extensions import db
from reslib.models import Rating, Term, UsageEvent
from reslib.services import library, review, search
from reslib.testing import add_resource


def term(vocabulary, name) -> Term:
    return db.session.scalar(select(Term).where(Term.vocabulary == vocabulary, Term.name == name))


def titles(page) -> list[str]:
    return [hit.card.resource.title for hit in page.items]


def found(user, q, **kwargs) -> set[str]:
    return set(titles(search.search(user, q, **kwargs)))


def run_queue(app) -> int:
    return app.extensions["reslib.queue"].run_pending()


def indexed_ids() -> set[int]:
    return {int(doc_id) for doc_id in search.index().ids_and_versions()}


@pytest.fixture
def corpus(district):
    """Library resources to find, and resources nobody but their owner or school may find, each holding a
    token found nowhere else; indexed with reindex."""
    teacher_a, teacher_b = district.teacher_a, district.teacher_b
    math, grade8 = term("subject", "数学"), term("grade", "八年级")
    unrelated = dict(description="", keywords="")
    resources = dict(
        pythagoras=add_resource(teacher_a, title="人教版八年级数学《勾股定理》微课", description="用拼图证明。",
                                subject_id=math.id, grade_id=grade8.id, form_id=term("form", "微课").id,
                                edition_id=term("edition", "人教版").id, source="district", grade="excellent",
                                published_at=datetime(2023, 3, 1), category_id=term("category", "学科教学").id),
        patriotic=add_resource(teacher_b, title="爱国主义教育主题班会", keywords="班会;德育",
                               description="附 Python 与 A01 资源包。", subject_id=term("subject", "道德与法治").id,
                               form_id=term("form", "课件").id, published_at=datetime(2024, 9, 1),
                               catalogue_xml='<目录><章 名称="第一章 国旗">升旗仪式</章></目录>'),
        exercise=add_resource(teacher_a, title="几何专项练习", description="复习勾股定理的三种证明。",
                              keywords="", subject_id=math.id, published_at=datetime(2022, 5, 1),
                              link_url="https://example.org/x", file_sha256=None, file_kind=None),
        school_a=add_resource(teacher_a, status="school_approved", title="校本课程 暗号甲鲟", subject_id=math.id, **unrelated),
        school_b=add_resource(teacher_b, status="school_approved", title="校本课程 暗号乙鳕", **unrelated),
        draft=add_resource(teacher_a, status="draft", title="草稿 暗号丙鲈", **unrelated),
        submitted=add_resource(teacher_a, status="submitted", title="待审 暗号丁鲶", **unrelated),
        withdrawn=add_resource(teacher_a, status="withdrawn", title="撤下 暗号戊鳗", **unrelated),
    )
    assert search.reindex() == 5
    return resources


RECALL = [
    ("勾股", {"人教版八年级数学《勾股定理》微课", "几何专项练习"}),  # inside 勾股定理, title and description
    ("人教", {"人教版八年级数学《勾股定理》微课"}),  # inside 人教版
    ("agzy", {"爱国主义教育主题班会"}),  # pinyin initials
    ("aiguozhuyi", {"爱国主义教育主题班会"}),  # full pinyin
    ("PYTHON", {"爱国主义教育主题班会"}),  # Latin, any case
    ("a01", {"爱国主义教育主题班会"}),
    ("德育", {"爱国主义教育主题班会"}),  # a keyword
    ("升旗仪式", {"爱国主义教育主题班会"}),  # the catalogue's text
    ("国旗", {"爱国主义教育主题班会"}),  # and its attributes
    ('"勾股定理的三种证明"', {"几何专项练习"}),  # an exact phrase
    ('"证明勾股定理"', set()),
    ("学科教学", {"人教版八年级数学《勾股定理》微课"}),  # the category path
]


def test_recall(district, corpus):
    for q, expected in RECALL:
        assert found(district.student_a, q) == expected, q


def test_a_title_match_ranks_above_a_description_match(district, corpus):
    assert titles(search.search(district.student_a, "勾股定理")) == ["人教版八年级数学《勾股定理》微课", "几何专项练习"]


def test_each_searcher_finds_only_what_they_may_see(district, corpus):
    tokens = ("甲鲟", "乙鳕", "丙鲈", "丁鲶", "戊鳗")
    school_a, school_b = f"school:{district.school_a.id}", f"school:{district.school_b.id}"
    for user, finds, libraries in [
        (district.student_a, {"甲鲟"}, {school_a}),
        (district.teacher_a, {"甲鲟"}, {school_a}),  # the owner too: drafts are in "my resources", not here
        (district.student_b, {"乙鳕"}, {school_b}),
        (district.reviewer, {"乙鳕"}, {school_b}),  # a member of school B
        (district.district_admin, {"甲鲟", "乙鳕"}, {school_a, school_b}),  # who browses every school library
    ]:
        assert {token for token in tokens if found(user, token)} == finds, user.username
        suggested = search.suggest(user, "暗号")
        assert {token for token in tokens if any(token in title for title in suggested)} == finds, user.username
        facets = {facet.name: facet for facet in search.search(user, "").facets}
        assert {option.value for option in facets["library"].options} == {"district", *libraries}, user.username


def test_a_hit_the_index_still_holds_is_not_shown_once_the_resource_left_the_library(district, corpus):
    resource = corpus["pythagoras"]
    resource.status = "withdrawn"  # the queue has not run yet
    db.session.commit()
    assert "人教版八年级数学《勾股定理》微课" not in found(district.student_a, "勾股")


def test_filters_by_facet_value_and_by_the_browse_pages_term_ids(district, corpus):
    student = district.student_a
    assert found(student, "勾股", filters={"subject": "数学", "form": "微课"}) == {"人教版八年级数学《勾股定理》微课"}
    assert found(student, "勾股", filters={"file_type": "link"}) == {"几何专项练习"}
    assert found(student, "", filters={"year": "2024"}) == {"爱国主义教育主题班会"}
    assert found(student, "", filters={"library": f"school:{district.school_a.id}"}) == {"校本课程 暗号甲鲟"}
    args = {"subject_id": str(term("subject", "数学").id), "grade_id": str(term("grade", "八年级").id)}
    assert search.filters_from(args) == {"subject": "数学", "grade": "八年级"}
    assert search.filters_from({"subject_id": str(term("grade", "八年级").id)}) == {}  # not a subject


def test_facets_count_what_was_found_with_readable_labels(district, corpus):
    page = search.search(district.student_a, "")
    facets = {facet.name: {option.label: option.count for option in facet.options} for facet in page.facets}
    assert page.total == 4
    assert facets["subject"] == {"数学": 3, "道德与法治": 1}
    assert facets["library"] == {"区级资源库": 3, "第一实验小学校本库": 1}
    assert facets["grade_result"] == {"优": 1}
    assert facets["file_type"] == {"PDF": 3, "链接": 1}
    chosen = search.search(district.student_a, "", filters={"subject": "数学"})
    subject = next(facet for facet in chosen.facets if facet.name == "subject")
    assert [(option.value, option.selected) for option in subject.options] == [("数学", True)]


def test_sorts(app, district, corpus):
    student = district.student_a
    assert titles(search.search(student, "", filters={"library": "district"}, sort="newest")) == [
        "爱国主义教育主题班会", "人教版八年级数学《勾股定理》微课", "几何专项练习"]
    for user in (district.student_a, district.student_b, district.teacher_b):
        db.session.add(UsageEvent(resource_id=corpus["exercise"].id, lineage_id=corpus["exercise"].lineage_id,
                                  user_id=user.id, kind="view"))
    db.session.add(Rating(lineage_id=corpus["pythagoras"].lineage_id, user_id=student.id, stars=4))
    db.session.commit()
    assert search.refresh_counts() == 2  # the periodic task: only lineages used lately
    assert titles(search.search(student, "", sort="views"))[0] == "几何专项练习"
    assert titles(search.search(student, "", sort="rating"))[0] == "人教版八年级数学《勾股定理》微课"
    hit = search.search(student, "几何").items[0]
    assert (hit.card.views, hit.card.rating, hit.card.ratings) == (3, None, 0)


def test_matches_are_marked_and_everything_else_escaped(district):
    add_resource(district.teacher_a, title="<b>勾股</b>定理", description="x<script>勾股</script>")
    search.reindex()
    hit = search.search(district.student_a, "勾股").items[0]
    assert str(hit.title) == "&lt;b&gt;<mark>勾股</mark>&lt;/b&gt;定理"
    assert str(hit.excerpt) == "x&lt;script&gt;<mark>勾股</mark>&lt;/script&gt;"


def test_an_empty_result_suggests_titles_single_words_and_related_categories(district, corpus):
    page = search.search(district.student_a, "勾股 鲲鹏")
    assert page.total == 0 and page.items == []
    assert page.narrower == [("勾股", 2)]
    assert search.search(district.student_a, "aiguozhuyij").suggestions == []  # found: no suggestions needed
    filtered = search.search(district.student_a, "爱国", filters={"subject": "数学"})  # the filter hides it
    assert filtered.total == 0 and filtered.suggestions == ["爱国主义教育主题班会"]
    assert ("爱国主义", "德育-爱国主义") in search.search(district.student_a, "爱国主义 鲲鹏").related


def test_documents_carry_what_the_index_needs(district, corpus):
    document = search.document_for(corpus["pythagoras"])
    assert document["visible_to"] == "public" and document["library"] == "district"
    assert (document["subject"], document["grade"], document["edition"], document["form"]) == ("数学", "八年级", "人教版", "微课")
    assert (document["year"], document["grade_result"], document["file_type"]) == ("2023", "excellent", "pdf")
    assert document["keywords"] == ["勾股定理", "数学"] and document["category_path"] == "学科教学"
    school = search.document_for(corpus["school_a"])
    assert school["visible_to"] == school["library"] == f"school:{district.school_a.id}"
    for name in ("draft", "submitted", "withdrawn"):
        assert search.document_for(corpus[name]) is None
    assert search.catalogue_text("<a><b>x") == ""  # broken XML is no text
    assert search.catalogue_text('<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>') == ""  # nor is an entity


def full_marks(app) -> dict:
    return dict(app.config["REVIEW_RUBRIC"])


def test_publish_withdraw_and_delete_reach_search_through_the_queue(app, district):
    reviewer_c = district.user("reviewer.c", {"reviewer", "teacher"}, district.school_c, identifier="T3001")
    db.session.commit()
    resource = add_resource(district.teacher_a, status="district_review", title="新入库 暗号己鲂")
    review.assign_panel(district.district_admin, resource, [district.reviewer.id, reviewer_c.id])
    review.score(district.reviewer, resource, full_marks(app))
    review.score(reviewer_c, resource, full_marks(app))
    run_queue(app)
    review.decide(district.district_admin, resource, "publish")
    assert not found(district.student_b, "己鲂")  # committed, but the worker has not run yet
    assert run_queue(app) == 1
    assert found(district.student_b, "己鲂") == {"新入库 暗号己鲂"}

    review.withdraw(district.district_admin, resource, "版权有争议")
    assert resource.id in indexed_ids()
    run_queue(app)
    assert resource.id not in indexed_ids() and not found(district.student_b, "己鲂")

    deleted = add_resource(district.teacher_a, title="将删除 暗号庚鲳")
    search.reindex()
    db.session.delete(deleted)
    db.session.commit()
    library.changed(deleted, "deleted", district.district_admin)
    run_queue(app)
    assert deleted.id not in indexed_ids()


def test_school_approval_and_a_new_version_replace_the_indexed_one(app, district):
    resource = add_resource(district.teacher_a, status="submitted", title="校本 暗号辛鲱")
    review.school_decision(district.admin_a, resource, "approve")
    run_queue(app)
    assert found(district.student_a, "辛鲱") == {"校本 暗号辛鲱"} and not found(district.student_b, "辛鲱")
    new = library.new_version(district.teacher_a, resource)
    library.update_metadata(district.teacher_a, new, {"title": "校本 第二版 暗号辛鲱"})
    assert run_queue(app) == 0  # a draft changing is none of the index's business
    new.status = "submitted"  # as review.submit does, without filling in every field it asks for
    db.session.commit()
    review.school_decision(district.admin_a, new, "approve")
    run_queue(app)
    assert found(district.student_a, "辛鲱") == {"校本 第二版 暗号辛鲱"}
    assert indexed_ids() == {new.id}


def test_stale_report_and_reindex(app, district, corpus):
    assert search.stale_report() == ([], [], [])
    changed = corpus["patriotic"]
    changed.title = "改了标题但没有通知"  # a change that bypassed the hook
    withdrawn = corpus["exercise"]
    withdrawn.status = "withdrawn"
    db.session.commit()
    search.index().remove([str(corpus["pythagoras"].id)])
    assert search.stale_report() == ([corpus["pythagoras"].id], [changed.id], [withdrawn.id])
    steps = []
    assert search.reindex(progress=steps.append) == search.indexable_count() == 4
    assert sum(steps) == 4
    assert search.stale_report() == ([], [], [])
    assert found(district.student_a, "改了标题") == {"改了标题但没有通知"}


def test_searching_needs_an_active_account(district, corpus):
    district.student_a.status = "disabled"
    db.session.commit()
    for attempt in (lambda: search.search(district.student_a, "勾股"), lambda: search.suggest(district.student_a, "勾股")):
        with pytest.raises(Forbidden):
            attempt()


def test_the_nightly_merge_keeps_what_everyone_finds(app, district, corpus):
    from reslib.jobs import queue

    assert "search.merge_index" in queue().tasks  # run by the worker at night
    before = {user.id: titles(search.search(user, "")) for user in (district.student_a, district.student_b)}
    search.merge_index()
    assert {user.id: titles(search.search(user, "")) for user in (district.student_a, district.student_b)} == before
    assert search.merge_index() is False  # merged already


def test_each_web_worker_reads_the_index_ahead_and_survives_a_failure(app, corpus, monkeypatch):
    app.config["SEARCH_WARM_INTERVAL"] = 0.01
    backend, warm = search.index(), search.index().warm
    calls = []

    def failing_once():
        calls.append(threading.current_thread().name)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        warm()

    monkeypatch.setattr(backend, "warm", failing_once)
    reported = []
    monkeypatch.setattr(app.logger, "exception", reported.append)  # not caplog: migrations may disable loggers
    gunicorn_conf = runpy.run_path(str(Path(__file__).parents[1] / "gunicorn.conf.py"))
    gunicorn_conf["post_worker_init"](SimpleNamespace(wsgi=app))  # what gunicorn calls in each worker
    deadline = time.monotonic() + 30
    while len(calls) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    (thread,) = [thread for thread in threading.enumerate() if isinstance(thread, search.ReadAhead)]
    thread.stop()
    assert len(calls) >= 3 and set(calls) == {"search-read-ahead"}
    assert reported == ["reading the search index ahead failed"]
