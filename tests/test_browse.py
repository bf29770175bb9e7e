"""The district and school libraries: who sees what, filters, sorting, pages, the API list."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from reslib.extensions import db
from reslib.models import Rating, Term, UsageEvent
from reslib.models.base import utcnow
from reslib.services import accounts, browse
from reslib.testing import add_resource, login, recorded_statements


def term(vocabulary, name) -> int:
    return db.session.scalar(select(Term.id).where(Term.vocabulary == vocabulary, Term.name == name))


def page_of(client, username, path):
    login(client, username)
    return client.get(path)


def titles(page) -> list[str]:
    return [card.resource.title for card in page.items]


def test_anonymous_visitors_are_sent_to_log_in(client, district):
    resource = add_resource(district.teacher_a)
    for path in ("/library", f"/library/schools/{district.school_a.id}", f"/resources/{resource.id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path


@pytest.mark.parametrize("username", ["student.a", "student.b", "teacher.b", "reviewer", "admin.b", "admin"])
def test_published_resources_are_in_the_district_library_for_everyone_signed_in(client, district, username):
    add_resource(district.teacher_a, title="勾股定理微课")
    response = page_of(client, username, "/library")
    assert response.status_code == 200 and "勾股定理微课" in response.get_data(as_text=True)


def test_the_school_library_is_for_that_school_only(client, district):
    add_resource(district.teacher_a, status="school_approved", title="校本拼图课")
    add_resource(district.teacher_a, title="区级勾股课")
    school_a = f"/library/schools/{district.school_a.id}"

    own = page_of(client, "student.a", school_a).get_data(as_text=True)
    assert "校本拼图课" in own and "区级勾股课" in own  # a school's library holds its published ones too
    assert "校本拼图课" not in client.get("/library").get_data(as_text=True)  # not in the district library

    other = client.application.test_client()
    assert page_of(other, "student.b", school_a).status_code == 403
    assert "校本拼图课" not in other.get("/library").get_data(as_text=True)
    assert "校本拼图课" not in other.get(f"/library/schools/{district.school_b.id}").get_data(as_text=True)

    district_admin = client.application.test_client()
    assert "校本拼图课" in page_of(district_admin, "admin", school_a).get_data(as_text=True)


def test_a_school_library_that_does_not_exist_is_404(client, district):
    assert page_of(client, "admin", "/library/schools/999").status_code == 404


@pytest.mark.parametrize("status", ["draft", "submitted", "returned", "rejected", "district_review", "withdrawn", "superseded"])
def test_unpublished_resources_are_never_in_a_library(client, district, status):
    add_resource(district.teacher_a, status=status, title="还没入库的课")
    login(client, "teacher.a")  # not even for their owner
    for path in ("/library", f"/library/schools/{district.school_a.id}"):
        assert "还没入库的课" not in client.get(path).get_data(as_text=True)


def test_filters(app, client, district):
    maths = add_resource(district.teacher_a, title="数学微课", subject_id=term("subject", "数学"), kind="student",
                         form_id=term("form", "微课"), stage_id=term("stage", "小学"), grade_id=term("grade", "五年级"),
                         edition_id=term("edition", "人教版"), section="课后服务", column="科普教育")
    add_resource(district.teacher_a, title="语文课件", subject_id=term("subject", "语文"), kind="teacher",
                 form_id=term("form", "课件"), stage_id=term("stage", "初中"), grade_id=term("grade", "七年级"),
                 edition_id=term("edition", "部编版"), section="德育", column="爱国主义")
    admin = district.district_admin
    with app.test_request_context():
        for name in ("kind", "form_id", "stage_id", "subject_id", "grade_id", "edition_id", "section"):
            assert titles(browse.browse(admin, filters={name: str(getattr(maths, name))})) == ["数学微课"], name
        assert titles(browse.browse(admin, filters={"section": "课后服务", "column": "科普教育"})) == ["数学微课"]
        assert len(browse.browse(admin, filters={"section": "课后服务", "column": "爱国主义"}).items) == 1  # column of another section: ignored
        assert len(browse.browse(admin, filters={"subject_id": "abc", "kind": "nonsense"}).items) == 2
    html = page_of(client, "student.b", f"/library?subject_id={maths.subject_id}&kind=student").get_data(as_text=True)
    assert "数学微课" in html and "语文课件" not in html
    assert f'<option value="{maths.subject_id}" selected>数学</option>' in html


def test_sorting_by_newest_views_and_rating(app, district):
    now = utcnow()
    old = add_resource(district.teacher_a, title="老课", published_at=now - timedelta(days=3))
    middle = add_resource(district.teacher_a, title="中间的课", published_at=now - timedelta(days=2))
    add_resource(district.teacher_a, title="新课", published_at=now - timedelta(days=1))
    for user in (district.student_a, district.student_b):
        db.session.add(UsageEvent(resource_id=middle.id, lineage_id=middle.lineage_id, user_id=user.id, kind="view"))
    db.session.add(UsageEvent(resource_id=old.id, lineage_id=old.lineage_id, user_id=district.student_a.id, kind="view"))
    db.session.add(UsageEvent(resource_id=middle.id, lineage_id=middle.lineage_id, user_id=district.student_a.id,
                              kind="download"))  # only views count for "most viewed"
    db.session.add_all([Rating(lineage_id=old.lineage_id, user_id=district.student_a.id, stars=5),
                        Rating(lineage_id=middle.lineage_id, user_id=district.student_a.id, stars=3),
                        Rating(lineage_id=middle.lineage_id, user_id=district.student_b.id, stars=4)])
    db.session.commit()
    with app.test_request_context():
        def by(sort):
            return browse.browse(district.student_a, filters={}, sort=sort)

        assert titles(by("newest")) == ["新课", "中间的课", "老课"]
        assert titles(by("views")) == ["中间的课", "老课", "新课"]
        assert titles(by("rating")) == ["老课", "中间的课", "新课"]  # unrated last
        assert [(c.views, c.rating, c.ratings) for c in by("rating").items] == [(1, 5.0, 1), (2, 3.5, 2), (0, None, 0)]
        assert titles(by("nonsense")) == titles(by("newest"))


@pytest.mark.parametrize("app_config", [{"PAGE_SIZE": 2}])
def test_pages_and_the_total(client, district, app_config):
    for n in range(5):
        add_resource(district.teacher_a, title=f"第{n}课", published_at=utcnow() - timedelta(hours=n))
    login(client, "student.a")
    first = client.get("/library").get_data(as_text=True)
    assert "共 5 个资源" in first and "第 1 / 3 页，共 5 条" in first and "第0课" in first and "第2课" not in first
    last = client.get("/library?page=3&sort=newest").get_data(as_text=True)
    assert "第4课" in last and "第0课" not in last and "第 3 / 3 页" in last


def test_one_query_for_the_rows_and_one_for_the_total(app, district):
    for n in range(4):
        add_resource(district.teacher_a, title=f"课{n}", subject_id=term("subject", "数学"), form_id=term("form", "微课"),
                     grade_id=term("grade", "一年级"))
    reader = district.student_b
    reader.has_role("student")  # loaded, as the request's user is before the page is built
    with app.test_request_context(), recorded_statements() as statements:
        for sort in ("newest", "views", "rating"):
            statements.clear()
            page = browse.browse(reader, filters={}, sort=sort)
            shown = [(c.resource.form.name, c.resource.subject.name, c.resource.grade_term.name, c.resource.school.name)
                     for c in page.items]
            assert len(shown) == 4 and len(statements) == 2, statements


def test_the_page_makes_no_query_per_card(client, district):
    def queries_for_the_page() -> int:
        with recorded_statements() as statements:
            assert client.get("/library?sort=rating").status_code == 200
        return len(statements)

    add_resource(district.teacher_a, subject_id=term("subject", "数学"), form_id=term("form", "微课"))
    login(client, "student.b")
    client.get("/library")
    with_one = queries_for_the_page()
    for n in range(5):
        add_resource(district.teacher_b, title=f"课{n}", subject_id=term("subject", "语文"), grade_id=term("grade", "一年级"))
    assert queries_for_the_page() == with_one


def test_cards_show_figures_grade_and_thumbnail(client, district):
    from reslib.services import library

    graded = add_resource(district.teacher_a, title="优秀课例", grade="excellent", thumb_sha256=library.store().put_bytes(b"jpeg"))
    db.session.add(Rating(lineage_id=graded.lineage_id, user_id=district.student_a.id, stars=4))
    db.session.commit()
    html = page_of(client, "student.b", "/library").get_data(as_text=True)
    assert "优秀课例" in html and ">优</span>" in html and "评分 4.0（1 人）" in html and "浏览 0" in html
    assert f'/resources/{graded.id}/thumb?v=' in html and "第一实验小学" in html


def test_the_api_lists_a_library_with_filters_and_sorting(client, district):
    maths = add_resource(district.teacher_a, title="数学微课", subject_id=term("subject", "数学"))
    add_resource(district.teacher_a, title="语文课件")
    add_resource(district.teacher_a, status="school_approved", title="校本拼图课")
    headers = {"Authorization": f"Bearer {accounts.create_token(district.student_a, 'app')}"}
    listed = client.get("/api/v1/resources", headers=headers).json
    assert listed["total"] == 2 and listed["pages"] == 1 and {i["title"] for i in listed["items"]} == {"数学微课", "语文课件"}
    item = client.get(f"/api/v1/resources?subject_id={maths.subject_id}&sort=views", headers=headers).json["items"]
    assert [i["title"] for i in item] == ["数学微课"] and item[0]["subject"]["name"] == "数学"
    assert item[0]["links"]["api"] == f"/api/v1/resources/{maths.id}"
    school = client.get(f"/api/v1/resources?school_id={district.school_a.id}", headers=headers).json
    assert school["total"] == 3
    other = {"Authorization": f"Bearer {accounts.create_token(district.student_b, 'app')}"}
    refused = client.get(f"/api/v1/resources?school_id={district.school_a.id}", headers=other)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/resources").status_code == 401
