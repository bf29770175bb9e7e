"""The search page, the header's search box and its suggestions, and search through the API."""
import re

from reslib.extensions import db
from reslib.services import accounts, search
from reslib.testing import add_resource, login


def publish_corpus(district):
    add_resource(district.teacher_a, title="人教版八年级数学《勾股定理》微课", description="用拼图证明勾股定理。")
    add_resource(district.teacher_b, title="爱国主义教育主题班会", description="<script>班会</script>流程",
                 keywords="")
    add_resource(district.teacher_b, status="school_approved", title="校本课程 暗号乙鳕", description="")
    add_resource(district.teacher_a, status="draft", title="草稿 暗号丙鲈", description="")
    search.reindex()


def page(client, path) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def test_search_needs_a_signed_in_account(client, district):
    for path in ("/search?q=勾股", "/search/suggest?q=gg"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"], path
    assert 'role="search"' not in page(client, "/login")


def test_every_page_has_the_search_box_for_signed_in_users(client, district):
    login(client, "student.a")
    for path in ("/dashboard", "/library"):
        html = page(client, path)
        assert 'action="/search"' in html and 'data-suggest-url="/search/suggest"' in html, path
        assert "js/search.js" in html and 'role="listbox"' in html
    assert 'value="勾股"' in page(client, "/search?q=勾股")  # the box keeps the query on the results page


def test_results_mark_matches_escape_text_and_count_facets(client, district):
    publish_corpus(district)
    login(client, "student.a")
    html = page(client, "/search?q=勾股")
    assert "<mark>勾股</mark>定理" in html  # in the title and the excerpt
    assert "共 1 个资源" in html
    assert re.search(r'href="/search\?q=%E5%8B%BE%E8%82%A1&amp;library=district&amp;sort=relevance">区级资源库</a>\s*'
                     r'<span class="count">1</span>', html)
    html = page(client, "/search?q=班会")
    assert "&lt;script&gt;<mark>班会</mark>&lt;/script&gt;" in html and "<script>班会" not in html


def test_a_facet_link_filters_and_a_chosen_filter_can_be_removed(client, district):
    publish_corpus(district)
    login(client, "student.b")
    html = page(client, f"/search?library=school:{district.school_b.id}")
    assert "校本课程 暗号乙鳕" in html and "勾股定理" not in html
    assert "资源库：育才中学校本库" in html  # the chosen filter, a link that removes it
    assert 'href="/search">清除筛选</a>' in html


def test_sorting_links_keep_the_query_and_filters(client, district):
    publish_corpus(district)
    login(client, "student.a")
    html = page(client, "/search?q=勾股&subject=数学&sort=views")
    for sort in ("relevance", "newest", "rating"):
        assert f"subject=%E6%95%B0%E5%AD%A6&amp;sort={sort}" in html
    assert 'sort=views" aria-current="true"' in html


def test_the_empty_state_helps(client, district):
    publish_corpus(district)
    login(client, "student.a")
    html = page(client, "/search?q=勾股+鲲鹏")
    assert "没有找到符合条件的资源" in html
    assert 'href="/search?q=%E5%8B%BE%E8%82%A1">勾股</a>' in html  # one word of it finds something
    assert "拼音首字母" in html
    html = page(client, "/search?q=暗号乙鳕")  # school B's resource, looked for in school A
    assert "没有找到符合条件的资源" in html and "校本课程" not in html


def test_results_page_through(app, client, district):
    app.config["PAGE_SIZE"] = 2
    for n in range(5):
        add_resource(district.teacher_a, title=f"分页测试资源{n}")
    search.reindex()
    login(client, "student.a")
    html = page(client, "/search?q=分页测试&page=3")
    assert "第 3 / 3 页，共 5 条" in html and html.count('class="search-hit"') == 1


def test_suggestions_are_titles_the_user_may_find(app, client, district):
    publish_corpus(district)
    login(client, "student.a")
    assert client.get("/search/suggest?q=agzy").get_json() == ["爱国主义教育主题班会"]
    assert client.get("/search/suggest?q=勾").get_json() == ["人教版八年级数学《勾股定理》微课"]
    assert client.get("/search/suggest?q=暗号").get_json() == []  # another school's, and a draft
    assert client.get("/search/suggest?q=").get_json() == []
    other = app.test_client()
    login(other, "student.b")
    assert other.get("/search/suggest?q=anhao").get_json() == ["校本课程 暗号乙鳕"]


def test_the_api_searches_with_q_and_keeps_its_filters_facets_and_sort(client, district):
    publish_corpus(district)
    headers = {"Authorization": f"Bearer {accounts.create_token(district.student_b, 'app')}"}
    body = client.get("/api/v1/resources?q=暗号", headers=headers).get_json()
    assert [item["title"] for item in body["items"]] == ["校本课程 暗号乙鳕"] and body["total"] == 1
    assert body["facets"]["library"] == [{"value": f"school:{district.school_b.id}", "label": "育才中学校本库",
                                          "count": 1, "selected": False}]
    body = client.get("/api/v1/resources?q=gougu&library=district&sort=newest", headers=headers).get_json()
    assert [item["title"] for item in body["items"]] == ["人教版八年级数学《勾股定理》微课"]
    assert body["items"][0]["links"]["page"] == f"/resources/{body['items'][0]['id']}"
    other = {"Authorization": f"Bearer {accounts.create_token(district.student_a, 'app')}"}
    assert client.get("/api/v1/resources?q=暗号", headers=other).get_json()["total"] == 0
    without_q = client.get("/api/v1/resources", headers=headers).get_json()
    assert "facets" not in without_q and without_q["total"] == 2  # browsing, as before


def test_the_openapi_document_describes_q(client, district):
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/resources"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"q", "library", "year", "grade_result"} <= names
    assert "facets" in operation["responses"]["200"]["content"]["application/json"]["schema"]["properties"]


def test_a_disabled_account_cannot_search(client, district):
    login(client, "student.a")
    district.student_a.status = "disabled"
    db.session.commit()
    assert client.get("/search?q=勾股").status_code in (302, 403)
