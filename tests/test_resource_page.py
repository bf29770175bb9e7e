"""A resource's page: metadata, counts, preview, links by policy, versions, plugin panels; the API detail."""
import re
from datetime import date, timedelta

import pytest
from markupsafe import Markup
from sqlalchemy import select

from reslib import hookimpl
from reslib.extensions import db
from reslib.models import Rating, Term, UsageEvent
from reslib.models.base import utcnow
from reslib.services import accounts, library
from reslib.testing import add_resource, login, recorded_statements

CATALOGUE = '<目录><章 名="第一章">勾股定理<节 名="1.1">拼图证明</节></章><章 名="第二章"/></目录>'


def page(client, username, resource):
    login(client, username)
    return client.get(f"/resources/{resource.id}")


def category(name) -> Term:
    return db.session.scalar(select(Term).where(Term.vocabulary == "category", Term.name == name))


def test_the_page_shows_the_national_metadata(client, district):
    resource = add_resource(
        district.teacher_a, title="航空发动机原理", created_on=date(2022, 3, 23), copyright_holder="东昌区教育局",
        presenters="张建华;朱新", keywords="航空;发动机", type_code="A01", category_id=category("航空发动机").id,
        section="课后服务", column="科普教育", catalogue_xml=CATALOGUE, source="district", licence="cc_by",
    )
    html = page(client, "student.b", resource).get_data(as_text=True)
    for text in ("航空发动机原理", "2022-03-23", "东昌区教育局", "张建华、朱新", '<span class="tag">航空</span>',
                 "A01 视频", "科学文化-航空知识-航空发动机", "课后服务 / 科普教育", "区级制作", "CC BY 4.0"):
        assert text in html, text
    # the catalogue is an outline, never raw XML
    assert "&lt;目录" not in html and "<章" not in html
    nested = ('<li><span class="tag-name">章</span> 第一章 勾股定理 <ul> '
              '<li><span class="tag-name">节</span> 1.1 拼图证明 </li> </ul></li>')
    assert nested in re.sub(r"\s+", " ", html)


def test_the_resource_is_read_with_its_people_and_terms_in_one_query(client, district):
    def term(vocabulary) -> int:
        return db.session.scalar(select(Term.id).where(Term.vocabulary == vocabulary))

    resource = add_resource(district.teacher_a, **{f"{name}_id": term(name) for name in
                                                    ("form", "stage", "subject", "grade", "edition", "category")})
    db.session.add(Rating(lineage_id=resource.lineage_id, user_id=district.student_a.id, stars=5, comment="清楚"))
    db.session.commit()
    login(client, "student.b")
    db.session.expire_all()  # as a new request starts: nothing of the resource in the session yet
    with recorded_statements() as statements:
        html = client.get(f"/resources/{resource.id}").get_data(as_text=True)
    terms = db.session.scalars(select(Term).where(Term.id.in_([resource.form_id, resource.subject_id]))).all()
    assert all(t.name in html for t in terms) and district.teacher_a.real_name in html
    assert "清楚" in html and "<strong>测同学</strong>" in html  # a pupil of another school is not named in full
    # nothing read one row at a time: the commenters' roles (which decide how they are named) come in one query
    single_reads = [s for s in statements if re.search(r"FROM (term|school|account)\s+WHERE \w+\.id = ", s)]
    roles = [s for s in statements if re.search(r"FROM user_role\s+WHERE user_role\.user_id = ", s)]
    assert single_reads == [] and roles == [], single_reads + roles


def test_a_catalogue_with_entities_is_not_expanded(client, district):
    bomb = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "哈哈哈哈哈哈哈哈"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            "<目录>&b;</目录>")
    resource = add_resource(district.teacher_a, catalogue_xml=bomb)
    response = page(client, "student.a", resource)
    assert response.status_code == 200 and "哈哈" not in response.get_data(as_text=True)


def test_counts_come_from_the_events(client, district):
    resource = add_resource(district.teacher_a)
    for user, kind in ((district.student_a, "download"), (district.student_b, "preview"), (district.student_b, "download")):
        db.session.add(UsageEvent(resource_id=resource.id, lineage_id=resource.lineage_id, user_id=user.id, kind=kind,
                                  at=utcnow() - timedelta(days=1)))
    db.session.commit()
    html = page(client, "teacher.b", resource).get_data(as_text=True)  # this visit is the one view
    assert "<strong>1</strong><span>浏览</span>" in html
    assert "<strong>2</strong><span>下载</span>" in html
    assert "<strong>3</strong><span>学习人数</span>" in html


def test_other_schools_and_strangers_to_a_draft_get_403(client, district):
    school_only = add_resource(district.teacher_a, status="school_approved")
    draft = add_resource(district.teacher_a, status="draft")
    assert page(client, "student.b", school_only).status_code == 403
    assert client.get(f"/resources/{draft.id}").status_code == 403
    owner = client.application.test_client()
    assert page(owner, "teacher.a", draft).status_code == 200
    assert db.session.scalar(select(UsageEvent)) is None  # refusals and drafts are not use


def test_the_owner_and_reviewers_see_the_workflow_others_do_not(client, district):
    resource = add_resource(district.teacher_a, status="submitted", processing="failed", processing_step="转码",
                            processing_error="视频已损坏，无法读取")
    owner = page(client, "teacher.a", resource).get_data(as_text=True)
    assert "视频已损坏，无法读取" in owner and "转码" in owner
    admin = client.application.test_client()
    assert "视频已损坏，无法读取" in page(admin, "admin.a", resource).get_data(as_text=True)
    published = add_resource(district.teacher_a, processing_error="封面生成失败")
    student = client.application.test_client()
    assert "封面生成失败" not in page(student, "student.a", published).get_data(as_text=True)


def test_links_follow_the_policy(client, district):
    draft = add_resource(district.teacher_a, status="draft")
    published = add_resource(district.teacher_a)
    owner_draft = page(client, "teacher.a", draft).get_data(as_text=True)
    assert f"/resources/{draft.id}/edit" in owner_draft and f"/resources/{draft.id}/review" in owner_draft
    owner_published = client.get(f"/resources/{published.id}").get_data(as_text=True)
    assert f"/resources/{published.id}/new-version" in owner_published
    assert f"/resources/{published.id}/edit" not in owner_published
    student = page(client.application.test_client(), "student.a", published).get_data(as_text=True)
    for path in ("/edit", "/new-version", "/review"):
        assert f"/resources/{published.id}{path}" not in student, path
    admin = page(client.application.test_client(), "admin.a", published).get_data(as_text=True)
    assert f"/resources/{published.id}/review" in admin


def test_a_superseded_version_sends_readers_to_the_newest_visible_one(client, district):
    first = add_resource(district.teacher_a, status="superseded", title="第一版")
    second = add_resource(district.teacher_a, title="第二版", lineage_id=first.id, supersedes_id=first.id)
    add_resource(district.teacher_a, status="draft", title="第三版草稿", lineage_id=first.id, supersedes_id=second.id)
    response = page(client, "student.b", first)
    assert response.status_code == 302 and response.headers["Location"] == f"/resources/{second.id}"


@pytest.mark.parametrize(("fields", "expected"), [
    ({}, '<iframe src="/resources/{id}/preview"'),
    ({"file_kind": "video", "file_mime": "video/mp4", "file_name": "a.mp4"}, '<video controls preload="metadata"'),
    ({"file_kind": "video", "file_mime": "video/x-msvideo", "inline_safe": False, "rendition_mime": "video/mp4",
      "rendition_sha256": "0" * 64}, '<video controls preload="metadata"'),
    ({"file_kind": "audio", "file_mime": "audio/mpeg", "rendition_sha256": "0" * 64, "rendition_mime": "audio/mpeg"},
     '<audio controls preload="metadata"'),
    ({"file_kind": "image", "file_mime": "image/png"}, '<img src="/resources/{id}/preview"'),
])
def test_the_preview_matches_the_file(client, district, fields, expected):
    resource = add_resource(district.teacher_a, **fields)
    html = page(client, "student.a", resource).get_data(as_text=True)
    assert expected.format(id=resource.id) in html
    assert ("js/player.js" in html) == (fields.get("file_kind") in ("video", "audio"))


def test_files_that_are_not_safe_inline_and_links_get_no_preview(client, district):
    svg = add_resource(district.teacher_a, content=b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                       file_kind="image", file_mime="image/svg+xml", inline_safe=False, file_name="图.svg")
    html = page(client, "student.a", svg).get_data(as_text=True)
    assert "/preview" not in html and f"/resources/{svg.id}/download" in html
    link = add_resource(district.teacher_a, file_sha256=None, file_name=None, file_size=None, file_kind=None,
                        file_mime=None, inline_safe=False, link_url="https://www.zxx.edu.cn/course/1")
    html = client.get(f"/resources/{link.id}").get_data(as_text=True)
    assert 'href="https://www.zxx.edu.cn/course/1"' in html and "/download" not in html


class PanelPlugin:
    @hookimpl
    def resource_panels(self, resource, user):
        return Markup("<p>积分面板：{} 给 {}</p>").format(resource.title, user.username)


@pytest.mark.parametrize("app_config", [{"EXTRA_PLUGINS": [PanelPlugin()]}])
def test_plugins_add_panels(client, district, app_config):
    resource = add_resource(district.teacher_a, title="勾股定理")
    assert "<p>积分面板：勾股定理 给 student.a</p>" in page(client, "student.a", resource).get_data(as_text=True)


def test_the_api_detail_with_counts_rating_and_links(client, district):
    resource = add_resource(district.teacher_a, presenters="张建华;朱新", cover_sha256=library.store().put_bytes(b"c"))
    token = accounts.create_token(district.student_b, "app")
    response = client.get(f"/api/v1/resources/{resource.id}", headers={"Authorization": f"Bearer {token}"})
    data = response.json
    assert response.status_code == 200 and data["title"] == "勾股定理微课" and data["presenters"] == ["张建华", "朱新"]
    assert data["counts"] == {"views": 1, "downloads": 0, "learners": 1}
    assert data["rating"] == {"average": None, "count": 0, "distribution": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 0}}
    assert data["links"]["api_download"] == f"/api/v1/resources/{resource.id}/download"
    assert data["links"]["cover"].startswith(f"/resources/{resource.id}/cover?v=")
    assert "processing" not in data  # the workflow is the owner's and reviewers' business
    owner = accounts.create_token(district.teacher_a, "app")
    assert "processing" in client.get(f"/api/v1/resources/{resource.id}", headers={"Authorization": f"Bearer {owner}"}).json
    hidden = add_resource(district.teacher_a, status="school_approved")
    refused = client.get(f"/api/v1/resources/{hidden.id}", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
