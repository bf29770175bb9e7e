"""Uploading: streamed to storage, sniffed, capped, deduplicated; drafts, metadata, covers, links, the API."""
import io
from urllib.parse import quote

import pytest
from PIL import Image

from reslib.extensions import db
from reslib.models import AuditEvent, Resource
from reslib.services import accounts, library
from reslib.testing import MINIMAL_PDF, add_resource, csrf_token, login, post_form


def send(client, content: bytes, name: str, *, token=None, path="/upload/files"):
    headers = {"X-File-Name": quote(name), "Content-Type": "application/octet-stream"}
    if token is not False:
        headers["X-CSRFToken"] = token or csrf_token(client, "/dashboard")
    return client.post(path, data=content, headers=headers)


def staging_files(app):
    return list((library.store().root / "staging").glob("*"))


def jpeg_bytes(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, "JPEG")
    return buffer.getvalue()


def test_a_teacher_uploads_a_pdf_and_gets_a_draft_processed_in_the_background(app, client, district):
    login(client, "teacher.a")
    response = send(client, MINIMAL_PDF, "勾股定理 教学设计.pdf")
    assert response.status_code == 201, response.get_json()
    resource = db.session.get(Resource, response.get_json()["id"])
    assert (resource.status, resource.owner_id, resource.school_id) == ("draft", district.teacher_a.id, district.school_a.id)
    assert resource.title == "勾股定理 教学设计" and resource.file_name == "勾股定理 教学设计.pdf"
    assert resource.file_kind == "pdf" and resource.processing == "pending"
    assert library.store().path(resource.file_sha256).read_bytes() == MINIMAL_PDF
    assert response.get_json()["edit_url"] == f"/resources/{resource.id}/edit"

    assert app.extensions["reslib.queue"].run_pending() == 1  # the real queue, run here instead of a worker
    db.session.refresh(resource)
    assert resource.processing == "done", resource.processing_error
    assert resource.probe["page_count"] == 1
    assert resource.cover_sha256 and resource.thumb_sha256  # the first page became the cover
    assert client.get("/my/resources").get_data(as_text=True).count("勾股定理 教学设计") == 1


def test_students_cannot_upload_and_csrf_is_required(client, district):
    login(client, "student.a")
    assert send(client, MINIMAL_PDF, "a.pdf").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "teacher.a")
    response = send(client, MINIMAL_PDF, "a.pdf", token=False)
    assert response.status_code == 400
    assert Resource.query.count() == 0


def test_students_are_offered_no_upload_they_would_be_refused(client, district):
    login(client, "student.a")
    for path in ("/dashboard", "/my/resources"):
        page = client.get(path).get_data(as_text=True)
        assert 'href="/upload"' not in page and 'href="/my/resources"' not in page, path
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "teacher.a")
    page = client.get("/my/resources").get_data(as_text=True)
    assert page.count('href="/upload"') == 2 and 'href="/my/resources"' in page  # the menu's and the page's own


def test_content_decides_the_type_and_refusals_leave_nothing_behind(app, client, district):
    login(client, "teacher.a")
    response = send(client, b"<html><script>alert(1)</script></html>", "课件.pdf")
    assert response.status_code == 415
    assert "不支持的文件类型" in response.get_json()["error"]["message"]
    empty = send(client, b"", "教案.pdf")
    assert empty.status_code == 422 and empty.get_json()["error"]["code"] == "empty_file"
    assert "文件是空的" in empty.get_json()["error"]["message"]
    assert Resource.query.count() == 0 and staging_files(app) == []


def test_a_file_name_is_only_ever_a_display_name(app, client, district):
    login(client, "teacher.a")
    response = send(client, MINIMAL_PDF, "../../etc/passwd\x00.pdf")
    assert response.status_code == 201
    resource = db.session.get(Resource, response.get_json()["id"])
    assert "/" not in resource.file_name and "\x00" not in resource.file_name
    assert resource.file_name.endswith(".pdf")  # the content decides the extension
    stored = library.store().path(resource.file_sha256)
    assert stored.name == resource.file_sha256
    # A right-to-left override would show "\u202efdp.exe" as "exe.pdf": bidirectional controls are dropped.
    spoofed = db.session.get(Resource, send(client, MINIMAL_PDF + b"2", "\u202efdp.exe").get_json()["id"])
    assert spoofed.title == "fdp" and "\u202e" not in spoofed.file_name


@pytest.mark.parametrize("app_config", [{"UPLOAD_MAX_BYTES": {"pdf": 100, "image": 100}}])
def test_size_caps_per_kind(app, client, district):
    login(client, "teacher.a")
    response = send(client, MINIMAL_PDF + b"%" * 200, "大文件.pdf")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert Resource.query.count() == 0 and staging_files(app) == []


def test_an_identical_file_already_visible_is_reported_with_where_it_is(client, district):
    existing = add_resource(district.teacher_b, status="published", title="全区共享的勾股定理课件")
    login(client, "teacher.a")
    response = send(client, MINIMAL_PDF, "我的课件.pdf")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "duplicate" and "全区共享的勾股定理课件" in error["message"] and str(existing.id) in error["message"]


def test_another_schools_draft_with_the_same_file_is_not_revealed(client, district):
    add_resource(district.teacher_b, status="draft", title="别校草稿")
    login(client, "teacher.a")
    response = send(client, MINIMAL_PDF, "我的课件.pdf")
    assert response.status_code == 201  # reviewers will see the duplicate among the checks instead
    assert "别校草稿" not in response.get_data(as_text=True)


def test_a_catalogue_with_entities_is_refused_in_words(app, district):
    resource = add_resource(district.teacher_a, status="draft")
    bomb = '<?xml version="1.0"?><!DOCTYPE 目录 [<!ENTITY a "勾股"><!ENTITY b "&a;&a;">]><目录>&b;</目录>'
    with pytest.raises(library.MetadataInvalid) as refused:
        library.update_metadata(district.teacher_a, resource, {"catalogue_xml": bomb})
    assert refused.value.errors["catalogue_xml"] == "资源目录不能包含 DTD 或实体定义"


def test_metadata_errors_show_next_to_their_fields_in_chinese_and_keep_the_input(client, district):
    resource = add_resource(district.teacher_a, status="draft", title="草稿")
    login(client, "teacher.a")
    response = post_form(client, f"/resources/{resource.id}/edit", {
        "title": "勾股定理的证明", "created_on": "2022/03/23", "keywords": "勾股定理；证明、几何",
        "catalogue_xml": "<目录><章>", "national_target": "劳动教育/心理健康",
    }, token_page=f"/resources/{resource.id}/edit")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "创建时间应为 yyyy-mm-dd" in page and "资源目录不是有效的 XML：第 1 行第 8 个字符附近有误" in page
    assert "勾股定理的证明" in page  # what the user typed is still there
    db.session.refresh(resource)
    assert resource.title == "草稿"  # all or nothing


def test_valid_metadata_is_saved_and_separators_normalised(client, district):
    from reslib.services import vocabularies

    resource = add_resource(district.teacher_a, status="draft", title="草稿")
    subject = vocabularies.terms("subject")[1]
    login(client, "teacher.a")
    response = post_form(client, f"/resources/{resource.id}/edit", {
        "title": "勾股定理的证明", "created_on": "2022-03-23", "keywords": "勾股定理；证明、几何",
        "presenters": "张建华;(藏族)班班多杰", "subject_id": str(subject.id), "kind": "student",
        "national_target": "德育/心理健康", "catalogue_xml": "<目录><章 名=\"第一章\"/></目录>",
    }, token_page=f"/resources/{resource.id}/edit")
    assert response.status_code == 302
    db.session.refresh(resource)
    assert resource.keywords == "勾股定理;证明;几何" and resource.split("presenters") == ["张建华", "(藏族)班班多杰"]
    assert (resource.section, resource.column, resource.subject_id) == ("德育", "心理健康", subject.id)
    assert resource.created_on.isoformat() == "2022-03-23"


def test_only_the_owner_edits_and_only_while_draft_or_returned(client, district):
    draft = add_resource(district.teacher_a, status="draft")
    login(client, "teacher.b")
    assert client.get(f"/resources/{draft.id}/edit").status_code == 403
    published = add_resource(district.teacher_a, status="published", content=b"%PDF-1.4 other")
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    login(client, "teacher.a")
    assert client.get(f"/resources/{published.id}/edit").status_code == 403


def test_a_link_resource_needs_a_real_web_address(client, district):
    login(client, "teacher.a")
    bad = post_form(client, "/upload/link", {"link_url": "javascript:alert(1)", "title": "x"}, token_page="/upload")
    assert bad.status_code == 422 and "http://" in bad.get_data(as_text=True)
    good = post_form(client, "/upload/link", {"link_url": "https://basic.smartedu.cn/course/1", "title": "国家平台课程"},
                     token_page="/upload")
    assert good.status_code == 302
    resource = Resource.query.one()
    assert resource.link_url == "https://basic.smartedu.cn/course/1" and resource.type_code == "A03"


def test_own_cover_must_be_a_jpeg(app, client, district):
    resource = add_resource(district.teacher_a, status="draft")
    login(client, "teacher.a")
    token = csrf_token(client, f"/resources/{resource.id}/edit")
    png = io.BytesIO()
    Image.new("RGB", (20, 20)).save(png, "PNG")
    client.post(f"/resources/{resource.id}/edit/cover", data={"csrf_token": token, "cover": (io.BytesIO(png.getvalue()), "c.png")})
    db.session.refresh(resource)
    assert resource.cover_sha256 is None
    client.post(f"/resources/{resource.id}/edit/cover", data={"csrf_token": token, "cover": (io.BytesIO(jpeg_bytes()), "c.jpg")})
    db.session.refresh(resource)
    assert resource.cover_from_uploader and resource.cover_sha256
    app.extensions["reslib.queue"].run_pending()
    db.session.refresh(resource)
    assert resource.thumb_sha256 and resource.processing == "done"


def test_deleting_a_draft_is_audited_and_only_for_drafts(client, district):
    draft_id = add_resource(district.teacher_a, status="draft", title="要删除的草稿").id
    login(client, "teacher.a")
    assert post_form(client, f"/resources/{draft_id}/delete").status_code == 302
    db.session.expire_all()  # the request deleted it in its own session
    assert db.session.get(Resource, draft_id) is None
    assert AuditEvent.query.filter_by(action="resource.deleted").one().detail == "要删除的草稿"


def test_the_api_uploads_edits_and_deletes_drafts(client, district):
    token = accounts.create_token(district.teacher_a, "脚本")
    auth = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/v1/resources", data=MINIMAL_PDF,
                          headers={**auth, "X-File-Name": quote("八年级 数学.pdf"), "Content-Type": "application/octet-stream"})
    assert created.status_code == 201, created.get_json()
    resource_id = created.get_json()["id"]
    assert created.get_json()["title"] == "八年级 数学"
    bad = client.patch(f"/api/v1/resources/{resource_id}", json={"created_on": "昨天", "kind": "nope"}, headers=auth)
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_body"  # not what the document allows
    assert set(bad.get_json()["error"]["fields"]) == {"created_on", "kind"}
    refused = client.patch(f"/api/v1/resources/{resource_id}", json={"subject_id": 99999, "section": "德育",
                                                                     "column": "劳动光荣"}, headers=auth)
    assert refused.status_code == 422 and set(refused.get_json()["error"]["fields"]) == {"subject_id", "column"}
    ok = client.patch(f"/api/v1/resources/{resource_id}", json={"title": "八年级数学 勾股定理", "kind": "student"}, headers=auth)
    assert ok.status_code == 200 and ok.get_json()["title"] == "八年级数学 勾股定理"
    link = client.post("/api/v1/resources", json={"link_url": "ftp://example.org/x"}, headers=auth)
    assert link.status_code == 422 and link.get_json()["error"]["field"] == "link_url"
    assert client.delete(f"/api/v1/resources/{resource_id}", headers=auth).status_code == 204
    assert client.post("/api/v1/resources", data=MINIMAL_PDF).status_code == 401


def test_the_district_admin_keeps_the_vocabularies(client, district):
    login(client, "admin")
    assert "语文" in client.get("/admin/taxonomy?vocabulary=subject").get_data(as_text=True)
    response = post_form(client, "/admin/taxonomy/subject", {"name": "书法"}, token_page="/admin/taxonomy")
    assert response.status_code == 302
    from reslib.services import vocabularies

    calligraphy = [t for t in vocabularies.terms("subject") if t.name == "书法"][0]
    post_form(client, f"/admin/taxonomy/terms/{calligraphy.id}/retire", token_page="/admin/taxonomy")
    assert "书法" not in [name for _id, name in vocabularies.choices("subject")]
    duplicate = post_form(client, "/admin/taxonomy/subject", {"name": "语文"}, token_page="/admin/taxonomy")
    assert duplicate.status_code == 422 and "已存在" in duplicate.get_data(as_text=True)


def test_teachers_cannot_change_vocabularies(client, district):
    login(client, "teacher.a")
    assert client.get("/admin/taxonomy").status_code == 403
