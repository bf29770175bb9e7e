"""Serving files: Range, RFC 5987 names, inert headers, what is never inline, X-Accel-Redirect, counting downloads."""
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from reslib.extensions import db
from reslib.models import UsageEvent
from reslib.services import accounts, library
from reslib.testing import add_resource, login

CONTENT = bytes(range(256)) * 8  # 2 KiB whose every range is recognisable
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(document.cookie)</script></svg>'


def fetch(client, path, **kwargs):
    """GET and read the whole body, closing the file behind it."""
    response = client.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


def downloads(resource) -> int:
    return db.session.scalar(select(func.count()).select_from(UsageEvent).where(
        UsageEvent.lineage_id == resource.lineage_id, UsageEvent.kind == "download"))


@pytest.fixture
def reader(client, district):
    login(client, "student.b")
    return client


def test_range_requests_get_206_with_the_right_bytes(reader, district):
    resource = add_resource(district.teacher_a, content=CONTENT)
    for path in ("download", "preview"):
        response = fetch(reader, f"/resources/{resource.id}/{path}", headers={"Range": "bytes=100-299"})
        assert response.status_code == 206, path
        assert response.data == CONTENT[100:300]
        assert response.headers["Content-Range"] == f"bytes 100-299/{len(CONTENT)}"
        assert response.headers["Accept-Ranges"] == "bytes"
    whole = fetch(reader, f"/resources/{resource.id}/download")
    assert whole.status_code == 200 and whole.data == CONTENT


def test_a_download_is_counted_once_not_per_range_chunk(reader, district, app):
    resource = add_resource(district.teacher_a, content=CONTENT)
    app.config["USAGE_DEDUP_MINUTES"] = 0  # every fetch that counts, counts
    fetch(reader, f"/resources/{resource.id}/download", headers={"Range": "bytes=1024-2047"})
    assert downloads(resource) == 0
    fetch(reader, f"/resources/{resource.id}/download", headers={"Range": "bytes=0-1023"})
    assert downloads(resource) == 1
    fetch(reader, f"/resources/{resource.id}/download")
    assert downloads(resource) == 2
    fetch(reader, f"/resources/{resource.id}/preview")  # watching is not downloading
    assert downloads(resource) == 2


def test_the_download_is_an_attachment_with_the_chinese_name(reader, district):
    resource = add_resource(district.teacher_a, file_name="勾股定理 教学设计.pdf")
    response = fetch(reader, f"/resources/{resource.id}/download")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('勾股定理 教学设计.pdf')}" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["Content-Type"] == "application/pdf"
    assert "private" in response.headers["Cache-Control"]


@pytest.mark.parametrize(("stored_name", "served_as"), [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\windows\\win.ini", "win.ini"),
    # (A NUL never reaches the database: the upload strips it, see test_upload.py; PostgreSQL refuses it.)
    ("课件\x01.exe\r\nSet-Cookie: x=1.pdf", "课件.exeSet-Cookie: x=1.pdf"),
])
def test_hostile_file_names_download_harmlessly(reader, district, stored_name, served_as):
    resource = add_resource(district.teacher_a, file_name=stored_name)
    response = fetch(reader, f"/resources/{resource.id}/download")
    disposition = response.headers["Content-Disposition"]
    assert response.status_code == 200 and response.data
    assert "/" not in disposition.replace("UTF-8''", "") and "\\" not in disposition
    assert not any(ch in disposition for ch in "\x00\x01\r\n")
    assert not any(cookie.startswith("x=") for cookie in response.headers.getlist("Set-Cookie"))
    assert quote(served_as) in disposition or served_as in disposition


def test_an_svg_with_script_is_never_served_inline(reader, district):
    svg = add_resource(district.teacher_a, content=SVG, file_kind="image", file_mime="image/svg+xml",
                       inline_safe=False, file_name="示意图.svg")
    refused = fetch(reader, f"/resources/{svg.id}/preview")
    assert refused.status_code == 403 and b"<script>" not in refused.data
    response = fetch(reader, f"/resources/{svg.id}/download")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == "sandbox"


def test_the_preview_is_inline_and_prefers_the_rendition(reader, district):
    pdf = add_resource(district.teacher_a, file_name="讲义.pdf")
    response = fetch(reader, f"/resources/{pdf.id}/preview")
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Chrome will not show a PDF under a sandbox policy: the PDF may only be framed by the site itself
    assert response.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    rendition = library.store().put_bytes(b"an mp4 rendition")
    video = add_resource(district.teacher_a, content=b"an avi original", file_kind="video", file_mime="video/x-msvideo",
                         inline_safe=False, rendition_sha256=rendition, rendition_mime="video/mp4")
    response = fetch(reader, f"/resources/{video.id}/preview")
    assert response.data == b"an mp4 rendition" and response.headers["Content-Type"] == "video/mp4"
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert fetch(reader, f"/resources/{video.id}/download").data == b"an avi original"


def test_link_resources_have_nothing_to_download(reader, district):
    link = add_resource(district.teacher_a, file_sha256=None, file_name=None, file_size=None, file_kind=None,
                        file_mime=None, inline_safe=False, link_url="https://www.zxx.edu.cn/course/1")
    for path in ("download", "preview", "cover"):
        assert fetch(reader, f"/resources/{link.id}/{path}").status_code == 404, path


def test_files_follow_the_resource_policy(reader, district):
    school_only = add_resource(district.teacher_a, status="school_approved", cover_sha256=library.store().put_bytes(b"c"))
    draft = add_resource(district.teacher_b, status="draft")
    for resource in (school_only, draft):
        for path in ("download", "preview", "cover", "thumb"):
            assert fetch(reader, f"/resources/{resource.id}/{path}").status_code == 403, (resource.status, path)
    assert downloads(school_only) == 0


def test_covers_and_thumbnails_are_jpeg_and_cacheable(reader, district):
    store = library.store()
    resource = add_resource(district.teacher_a, cover_sha256=store.put_bytes(b"cover jpeg"), thumb_sha256=store.put_bytes(b"thumb"))
    for path, body in (("cover", b"cover jpeg"), ("thumb", b"thumb")):
        response = fetch(reader, f"/resources/{resource.id}/{path}")
        assert response.data == body and response.headers["Content-Type"] == "image/jpeg"
        cache = response.headers["Cache-Control"]
        assert "private" in cache and "max-age=86400" in cache and "no-cache" not in cache
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    bare = add_resource(district.teacher_a, title="无封面")
    assert fetch(reader, f"/resources/{bare.id}/thumb").status_code == 404


@pytest.mark.parametrize("app_config", [{"X_ACCEL_REDIRECT": "/_files/"}])
def test_x_accel_redirect_hands_the_bytes_to_nginx(reader, district, app_config):
    resource = add_resource(district.teacher_a, content=CONTENT, file_name="课件.pdf")
    sha = resource.file_sha256
    response = fetch(reader, f"/resources/{resource.id}/download", headers={"Range": "bytes=0-99"})
    assert response.status_code == 200 and response.data == b""
    assert response.headers["X-Accel-Redirect"] == f"/_files/{sha[:2]}/{sha[2:4]}/{sha}"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert f"filename*=UTF-8''{quote('课件.pdf')}" in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert downloads(resource) == 1


def test_the_api_download_takes_a_token_and_counts(client, district):
    resource = add_resource(district.teacher_a, content=CONTENT, file_name="讲义.pdf")
    token = accounts.create_token(district.student_b, "app")
    response = fetch(client, f"/api/v1/resources/{resource.id}/download", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and response.data == CONTENT
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert downloads(resource) == 1
    assert fetch(client, f"/api/v1/resources/{resource.id}/download").status_code == 401
    draft = add_resource(district.teacher_a, status="draft")
    assert fetch(client, f"/api/v1/resources/{draft.id}/download",
                 headers={"Authorization": f"Bearer {token}"}).status_code == 403
