import pytest
from PIL import Image
from samples import make_pdf, make_qr_image, make_video, run_ffmpeg

from reslib.services.media import probe
from reslib.services.qrscan import find_codes, find_contacts, scan

CLEAN = [("content.clean", True, "未发现二维码或联系方式")]


def read(findings):
    """Each finding as a reader sees it: what was checked, whether it passed, and the text."""
    return [(finding.check, finding.ok, finding.text()) for finding in findings]


def cover_with_qr(path, text):
    """A busy 1280×720 picture with a small QR code in its corner, like an advert on a cover."""
    cover = Image.effect_mandelbrot((1280, 720), (-2, -1, 1, 1), 60).convert("RGB")
    cover.paste(make_qr_image(None, text, scale=4), (1000, 440))
    cover.save(path)
    return path


@pytest.mark.parametrize("text, expected", [
    ("课后辅导请联系 13812345678 张老师", ["13812345678"]),
    ("手机：138-1234-5678。", ["138-1234-5678"]),
    ("咨询电话 0730-1234567，或（0731）88889999", ["0730-1234567", "（0731）88889999"]),
    ("来信请寄 teacher.wang@example.com.cn", ["teacher.wang@example.com.cn"]),
    ("加微信：abc_123456 领取资料", ["微信：abc_123456"]),
    ("扫码进群，QQ群：123456789", ["QQ群：123456789"]),
    ("QQ：12345 或 qq 12345", ["QQ：12345", "qq 12345"]),
    ("电话 13812345678，再说一次 13812345678", ["13812345678"]),
])
def test_contacts_are_found(text, expected):
    assert find_contacts(text) == expected


@pytest.mark.parametrize("text", [
    "2022年3月23日 人民教育出版社",
    "ISBN 978-7-107-13456-8，ISBN 978-7-5135-1381-2",
    "ISBN 9787107134568 定价 35.00 元 印数 13000 册 邮编 414000",
    "订单号 202213812345678，学号 20221380012",
    "第 1 页 共 138 页，1280×720，25 fps",
    "关注微信公众号，或在 QQ 音乐收听",
])
def test_ordinary_numbers_are_not_contacts(text):
    assert find_contacts(text) == []


def test_qr_code_is_read():
    assert find_codes(make_qr_image(None, "https://example.com/ad")) == ["https://example.com/ad"]


def test_qr_in_a_cover_is_found(tmp_path):
    Image.new("RGB", (640, 480), "white").save(tmp_path / "photo.jpg")
    cover = cover_with_qr(tmp_path / "cover.png", "https://example.com/ad")
    assert read(scan(tmp_path / "photo.jpg", "image", probe(tmp_path / "photo.jpg", "image"), cover=cover)) == [
        ("content.qr_code", False, "封面中发现二维码（https://example.com/ad）")]


def test_clean_image_gives_the_single_passing_finding(tmp_path):
    cover = Image.effect_mandelbrot((1280, 720), (-2, -1, 1, 1), 60).convert("RGB")
    cover.save(tmp_path / "photo.jpg")
    assert read(scan(tmp_path / "photo.jpg", "image", probe(tmp_path / "photo.jpg", "image"))) == CLEAN


def test_qr_and_phone_on_a_pdf_page_are_found(tmp_path):
    pdf = make_pdf(tmp_path / "doc.pdf", pages=3,
                   text=["第一章 有理数", "课后辅导报名电话 13812345678", "第二章 整式"],
                   images={2: make_qr_image(None, "https://example.com/class")})
    assert read(scan(pdf, "pdf", probe(pdf, "pdf"))) == [
        ("content.qr_code", False, "第 2 页发现二维码（https://example.com/class）"),
        ("content.contact", False, "第 2 页发现联系方式 13812345678"),
    ]


def test_only_the_first_pages_of_a_pdf_are_read(tmp_path):
    pdf = make_pdf(tmp_path / "doc.pdf", pages=3, text=["第一章", "第二章", "联系电话 13812345678"])
    assert read(scan(pdf, "pdf", probe(pdf, "pdf"), max_pages=2)) == CLEAN


def test_qr_in_a_video_frame_is_found(tmp_path):
    make_qr_image(tmp_path / "qr.png", "https://example.com/video", scale=4)
    clip = tmp_path / "clip.mp4"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=1", "-i", str(tmp_path / "qr.png"),
               "-filter_complex", "overlay=20:20", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(clip))
    assert read(scan(clip, "video", probe(clip, "video"), frames=3)) == [
        ("content.qr_code", False, "视频 0:00 处发现二维码（https://example.com/video）")]


def test_clean_video_gives_the_single_passing_finding(tmp_path):
    clip = make_video(tmp_path / "clip.mp4", width=320, height=240, bitrate="300k")
    assert read(scan(clip, "video", probe(clip, "video"), frames=3)) == CLEAN
