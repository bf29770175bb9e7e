"""Looking for QR codes and contact details in a resource: the library must not carry advertising
or lead pupils to outside contacts (paid tutoring groups, WeChat/QQ accounts)."""
import re

import zxingcpp
from PIL import Image

from reslib.messages import N_
from reslib.services.media import load_image, pdf_pages, video_frames
from reslib.services.standards import Finding

PAGE_MAX_SIDE = 1600  # large enough for a small QR code on an A4 page
SHOWN_CODE_CHARS = 60

CONTACT_PATTERN = re.compile(
    r"""
    (?:微信号?\s*[:：]?|(?:WeChat|wx)\s*[:：])\s*[A-Za-z0-9][-_A-Za-z0-9]{5,19}  # 微信：abc123
    | QQ\s*[号群]?\s*[:：]?\s*[1-9]\d{4,10}(?!\d)                          # QQ：12345
    | [A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}     # e-mail
    # phone numbers not glued to other digits or to an ISBN's "978-7-" groups
    | (?<![\d-])1[3-9]\d(?:-?\d{4}){2}(?!\d)                               # mobile 138-1234-5678
    | (?<![\d-])(?:0\d{2,3}-|\(0\d{2,3}\)|（0\d{2,3}）)\d{7,8}(?!\d)        # landline 0730-1234567
    """,
    re.VERBOSE | re.IGNORECASE,
)


def find_codes(image: Image.Image) -> list[str]:
    """The texts of the QR codes and other 2D codes (Data Matrix, Aztec, PDF417 …) in the image."""
    return [code.text for code in zxingcpp.read_barcodes(image.convert("L"), formats=zxingcpp.AllMatrix)]


def find_contacts(text: str) -> list[str]:
    """Phone numbers, e-mail addresses and WeChat/QQ ids written in the text, in order, once each."""
    return list(dict.fromkeys(match.group().strip() for match in CONTACT_PATTERN.finditer(text)))


def scan(path, kind: str, probe, *, cover=None, max_pages: int = 5, frames: int = 5) -> list[Finding]:
    """One failing finding per code or contact found, naming where; a single passing one when clean.

    ``cover`` is worth passing when the uploader supplied it: a generated one shows what the file shows.
    """
    findings = []

    def look(image: Image.Image, message: str, **where) -> None:
        for text in dict.fromkeys(find_codes(image)):
            shown = text if len(text) <= SHOWN_CODE_CHARS else text[:SHOWN_CODE_CHARS] + "…"
            findings.append(Finding("content.qr_code", False, message, (*where.items(), ("code", shown))))

    if cover is not None:
        look(load_image(cover), N_("封面中发现二维码（%(code)s）"))
    if kind == "image":
        look(load_image(path), N_("图片中发现二维码（%(code)s）"))
    elif kind == "pdf":
        for number, (image, text) in enumerate(pdf_pages(path, max_pages, PAGE_MAX_SIDE), start=1):
            look(image, N_("第 %(page)s 页发现二维码（%(code)s）"), page=number)
            for contact in find_contacts(text):
                findings.append(Finding("content.contact", False, N_("第 %(page)s 页发现联系方式 %(contact)s"),
                                        (("page", number), ("contact", contact))))
    elif kind == "video" and frames > 0:
        if probe.duration:
            times = [probe.duration * (index + 0.5) / frames for index in range(frames)]
        else:
            times = [0.0]
        for at, image in zip(times, video_frames(path, times)):
            look(image, N_("视频 %(at)s 处发现二维码（%(code)s）"), at=f"{int(at) // 60}:{int(at) % 60:02d}")

    # the same code in several frames of one minute is one finding
    return list(dict.fromkeys(findings)) or [Finding("content.clean", True, N_("未发现二维码或联系方式"))]
