"""Certificates: a PDF whose Chinese text extracts, which renders, and whose QR code leads to the public
verification page; verification of valid, revoked, unknown and malformed numbers, rate limited; revocation;
certificates for resources a platform accepted; a school's ZIP; the title-evaluation record."""
import io
import subprocess
import zipfile
from datetime import datetime

import pypdfium2
import pytest
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import select

from plugins.awards import certificates, judging, results, service
from plugins.awards.models import Certificate
from reslib.extensions import db
from reslib.services.qrscan import find_codes
from reslib.testing import login, post_form


@pytest.fixture
def prized(stage):
    """A published competition: teacher A (with co-author admin.a) wins 2nd, teacher B wins 3rd."""
    stage.open()
    first = stage.enter(stage.district.teacher_a, "光的折射", ["admin.a"])
    second = stage.enter(stage.district.teacher_b, "勾股定理")
    stage.enter(stage.district.teacher_a, "没有获奖的作品")
    stage.judging()
    judging.assign_automatically(stage.admin, stage.competition)
    for entry, total in ((first, 95), (second, 85), (stage.competition_entries()[-1], 50)):
        stage.score(entry, total, total)
    service.set_status(stage.admin, stage.competition, "closed")
    results.publish(stage.admin, stage.competition)
    return stage


def held_by(user) -> Certificate:
    return db.session.scalars(select(Certificate).where(Certificate.holder_id == user.id)).one()


def pages_of(data: bytes):
    document = pypdfium2.PdfDocument(data)
    return document, [document[index] for index in range(len(document))]


def test_the_certificate_pdf_reads_in_chinese_and_its_qr_leads_to_verification(client, prized):
    teacher = prized.district.teacher_a
    teacher.real_name = "孙丽华"
    certificate = held_by(teacher)
    certificate.holder_name = "孙丽华"
    db.session.commit()
    login(client, "teacher.a")
    response = client.get(f"/awards/certificates/{certificate.number}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    data = response.data
    assert b"/FontFile2" in data  # the CJK font is embedded, not left to the reader's machine
    document, pages = pages_of(data)
    text = pages[0].get_textpage().get_text_range()
    for expected in ("荣誉证书", "孙丽华", "光的折射", "二等奖", "2026 年度优秀微课评比", "东昌区教育局", certificate.number):
        assert expected in text, expected
    image = pages[0].render(scale=2).to_pil()
    document.close()
    url = f"http://localhost/verify/{certificate.number}"
    assert find_codes(image) == [url]
    # poppler renders it too, as a district's printing shop would
    rendered = subprocess.run(["pdftoppm", "-r", "50", "-png", "-singlefile", "-"], input=data,
                              capture_output=True, check=True).stdout
    assert Image.open(io.BytesIO(rendered)).size[0] > 300
    page = client.get(url.removeprefix("http://localhost")).get_data(as_text=True)
    assert "证书有效" in page and "孙丽华" in page and "二等奖" in page


def test_each_author_has_their_own_certificate_and_others_cannot_download_it(app, client, prized):
    co_author = held_by(prized.district.admin_a)
    assert co_author.honour == "二等奖" and co_author.work_title == "光的折射"
    login(client, "teacher.b")
    assert client.get(f"/awards/certificates/{co_author.number}.pdf").status_code == 404
    school_admin = app.test_client()
    login(school_admin, "admin.a")  # the holder's school admin may
    assert school_admin.get(f"/awards/certificates/{held_by(prized.district.teacher_a).number}.pdf").status_code == 200


def test_verification_of_valid_revoked_unknown_and_malformed_numbers(app, client, prized):
    certificate = held_by(prized.district.teacher_b)
    anonymous = app.test_client()
    page = anonymous.get(f"/verify/{certificate.number.lower().replace('-', '')}")  # as typed from paper
    assert page.status_code == 200 and "证书有效" in page.get_data(as_text=True)
    body = page.get_data(as_text=True)
    assert "育才中学" not in body and "teacher.b" not in body  # only what the certificate shows
    unknown = anonymous.get("/verify/AAAA-BBBB-CCCC-DDDD")
    assert unknown.status_code == 404 and "没有编号为 AAAA-BBBB-CCCC-DDDD 的证书" in unknown.get_data(as_text=True)
    malformed = anonymous.get("/verify?number=<script>1</script>")
    assert malformed.status_code == 404 and "不是有效的证书编号格式" in malformed.get_data(as_text=True)
    assert "<script>1" not in malformed.get_data(as_text=True)
    login(client, "admin")
    response = post_form(client, f"/awards/certificates/{certificate.number}/revoke", {"reason": ""},
                         token_page=f"/verify/{certificate.number}")
    assert "请填写撤销理由" in client.get(response.headers["Location"]).get_data(as_text=True)
    post_form(client, f"/awards/certificates/{certificate.number}/revoke", {"reason": "重复获奖"},
              token_page=f"/verify/{certificate.number}")
    body = anonymous.get(f"/verify/{certificate.number}").get_data(as_text=True)
    today = datetime.now().strftime("%Y-")
    assert "已撤销" in body and "撤销，不再有效" in body and today in body
    others = app.test_client()
    login(others, "teacher.b")
    assert others.post(f"/awards/certificates/{held_by(prized.district.teacher_a).number}/revoke",
                       data={"reason": "x"}).status_code in (400, 403, 404)


@pytest.mark.parametrize("app_config", [{"AWARDS_VERIFY_RATE_LIMIT": "5 per minute"}])
def test_verification_is_rate_limited(app, app_config):
    anonymous = app.test_client()
    codes = [anonymous.get("/verify/AAAA-BBBB-CCCC-DDDD").status_code for _ in range(7)]
    assert codes[:5] == [404] * 5 and codes[5:] == [429, 429]


@pytest.mark.parametrize("app_config", [{"AWARDS_PUBLIC_URL": "https://res.example.edu.cn/"}])
def test_a_resource_accepted_upward_earns_its_authors_a_certificate_once(app, district, app_config):
    from reslib.plugins import hooks

    selection = {"key": "provincial:rec:7", "title": "光的折射", "platform": "省级平台",
                 "people": [district.teacher_a.id], "at": datetime(2026, 6, 1, 2, 0)}
    hooks().recommendation_accepted(selection=selection)
    hooks().recommendation_accepted(selection=selection)  # announced twice: one certificate
    certificate = db.session.scalars(select(Certificate)).one()
    assert (certificate.level, certificate.honour, certificate.issued_on.isoformat()) == ("selected", "入选省级平台",
                                                                                         "2026-06-01")
    assert not certificate.counts_as_paper
    text = pages_of(certificates.pdf(certificate))[1][0].get_textpage().get_text_range()  # outside any request
    assert "入选省级平台" in text and f"https://res.example.edu.cn/verify/{certificate.number}" in text


def test_a_school_admin_downloads_the_schools_certificates_as_one_zip(client, prized):
    login(client, "admin.a")
    response = client.get("/awards/school/certificates.zip")
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    numbers = {held_by(prized.district.teacher_a).number, held_by(prized.district.admin_a).number}
    assert len(names) == 2 and all(any(number in name for number in numbers) for name in names)


def test_the_title_evaluation_record_marks_what_counts_as_a_paper(app, client, prized):
    login(client, "teacher.a")
    page = client.get("/awards/mine").get_data(as_text=True)
    assert "光的折射" in page and "二等奖" in page and "没有获奖的作品" in page
    sheet = load_workbook(io.BytesIO(client.get("/awards/mine/record.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][3] == "二等奖" and rows[1][5].startswith("是")
    assert rows[1][8] == f"http://localhost/verify/{held_by(prized.district.teacher_a).number}"
    text = pages_of(client.get("/awards/mine/record.pdf").data)[1][0].get_textpage().get_text_range()
    text = "".join(text.split())  # cells wrap
    assert "获奖记录" in text and "光的折射" in text and "是（区级二等奖及以上）" in text
    # the school's record: its teachers' prizes; a third prize does not count as a paper
    school_b = app.test_client()
    login(school_b, "admin.b")
    sheet = load_workbook(io.BytesIO(school_b.get("/awards/school/record.xlsx").data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [(row[0], row[3], row[5]) for row in rows[1:]] == [(prized.district.teacher_b.real_name, "三等奖", "否")]
