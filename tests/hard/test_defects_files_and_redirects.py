"""Issue 26, defects 4–8: downloads and exports, redirects after a form, a link resource's cover, imports of
hostile files. Each test failed before its fix."""
import csv
import io
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from PIL import Image

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.services import library
from reslib.services.importer import import_records
from reslib.testing import PASSWORD, csrf_token, login, post_form

CRLF_NEXT = "/\r\nSet-Cookie: x=y"


def test_accounts_export_of_a_school_named_with_slashes_and_a_chinese_code(client, district):
    """Defect 4: a sheet title Excel refuses, and a file name that is not ASCII, answered 500."""
    district.school_a.name, district.school_a.code = "测试学校（东/西校区）[初中部]：一分校？*", "东校01"
    db.session.commit()
    login(client, "admin.a")
    response = client.get("/admin/accounts/export")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.data)).sheetnames == ["测试学校（东／西校区）［初中部］：一分校？＊"]
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # what a WSGI server can send
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote('accounts-东校01-')}" in disposition
    assert response.headers["Cache-Control"] == "no-store"


def test_a_next_or_back_with_a_line_break_goes_to_the_default_page(client, district):
    """Defect 5: a CR/LF in ``next`` (sign-in, language switch) or an admin form's ``back`` answered 500."""
    response = client.post(f"/login?next={quote(CRLF_NEXT)}",
                           data={"csrf_token": csrf_token(client), "username": "admin.a", "password": PASSWORD})
    assert (response.status_code, response.headers["Location"]) == (302, "/dashboard")
    response = post_form(client, "/language/en", {"next": CRLF_NEXT})
    assert (response.status_code, response.headers["Location"]) == (302, "/")
    response = post_form(client, f"/admin/accounts/{district.teacher_a.id}/unlock", {"back": CRLF_NEXT})
    assert (response.status_code, response.headers["Location"]) == (302, f"/admin/accounts/{district.teacher_a.id}")
    assert not any(cookie.startswith("x=") for cookie in response.headers.getlist("Set-Cookie"))


def test_a_link_resource_with_the_uploaders_cover_gets_its_thumbnail(app, district):
    """Defect 6: the worker looked for the file a link resource does not have, and failed it."""
    resource = library.create_link(district.teacher_a, "https://basic.smartedu.cn/course/1", "国家平台课程")
    jpeg = io.BytesIO()
    Image.new("RGB", (640, 360), (30, 90, 160)).save(jpeg, "JPEG")
    jpeg.seek(0)
    library.set_cover(district.teacher_a, resource, jpeg)
    assert app.extensions["reslib.queue"].run_pending() == 1
    db.session.refresh(resource)
    assert resource.processing == "done", resource.processing_failure
    with Image.open(library.store().path(resource.thumb_sha256)) as thumb:
        assert thumb.size == (480, 270)
    assert [check["check"] for check in resource.checks] == ["content.clean"]  # the cover was scanned too


def test_a_deeply_nested_json_line_is_a_row_error(client, district):
    """Defect 7: JSON nested deeper than Python's recursion limit escaped as a RecursionError (a 500)."""
    data = ('{"title": "好", "link": "https://example.org/a"}\n' + "[" * 100_000 + "\n"
            + '{"title": ' + "[" * 100_000 + "]" * 100_000 + "}\n").encode()
    login(client, "admin")
    response = client.post("/admin/import", data={"csrf_token": csrf_token(client, "/admin/import"),
                                                  "library": "district", "file": (io.BytesIO(data), "目录.jsonl")})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "第 2 行：不是有效的 JSON 对象" in page and "第 3 行：不是有效的 JSON 对象" in page


def test_a_csv_cell_over_the_limit_is_named_too_large_not_unbalanced(district):
    """Defect 8: a cell longer than the csv module reads was reported as unbalanced quotes."""
    out = io.StringIO()
    csv.writer(out).writerows([["资源标题", "资源简介", "链接"], ["勾股定理", "长" * 200_000, "https://example.org/a"]])
    with pytest.raises(ReslibError) as refused:
        import_records(district.district_admin, "目录.csv", out.getvalue().encode(), library="district")
    assert refused.value.message == (f"第 2 行有单元格超过 {csv.field_size_limit()} 个字符，无法读取"
                                     "（引号不成对时，其后的内容会连成一格）")
