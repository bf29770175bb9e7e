"""Certificates (数字证书): one per holder for each prize, and for each resource a provincial or national platform
accepted; a PDF with a QR code to the public verification page; revocation with a reason; a school's as a ZIP."""
import io
import re
import secrets
import zipfile
from base64 import b32encode

import segno
from flask import current_app, has_request_context, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from sqlalchemy import select

from plugins.awards.entries import require_school_admin
from plugins.awards.models import PRIZE_LABELS, Certificate, Entry
from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.models import User, utcnow
from reslib.permissions import can
from reslib.plugins import hooks
from reslib.services import audit
from reslib.services.pdf import cjk_font
from reslib.templating import local_day

NUMBER = re.compile(r"[A-Z2-7]{4}(?:-[A-Z2-7]{4}){3}")  # 80 random bits in base32, grouped for reading aloud


def new_number() -> str:
    text = b32encode(secrets.token_bytes(10)).decode()  # 16 characters, no padding
    return "-".join(text[index:index + 4] for index in range(0, 16, 4))


def normalised(number: str) -> str | None:
    """The number as typed (any case, spaces or dashes), or None when it cannot be one."""
    text = re.sub(r"[\s-]", "", (number or "")[:64]).upper()
    grouped = "-".join(text[index:index + 4] for index in range(0, len(text), 4))
    return grouped if NUMBER.fullmatch(grouped) else None


def _issue(source_key: str, holder: User, **fields) -> Certificate:
    existing = db.session.scalar(select(Certificate).where(Certificate.source_key == source_key))
    if existing is not None:  # issuing again (a retried announcement) gives the same certificate
        return existing
    certificate = Certificate(number=new_number(), source_key=source_key, holder_id=holder.id,
                              holder_name=holder.real_name, school_id=holder.school_id,
                              issuer=current_app.config["DISTRICT_NAME"], created_at=utcnow(), **fields)
    db.session.add(certificate)
    return certificate


def issue_for_prize(entry: Entry, at) -> list[Certificate]:
    """Each author's certificate for the entry's prize; the caller commits."""
    found = []
    for author in entry.authors:
        found.append(_issue(f"entry:{entry.id}:{author.user_id}", author.user, entry_id=entry.id, level=entry.prize,
                            honour=str(PRIZE_LABELS[entry.prize]), occasion=entry.competition.title,
                            work_title=entry.resource.title[:200], issued_on=local_day(at)))
    db.session.flush()
    return found


def issue_for_selection(selection: dict) -> list[Certificate]:
    """Certificates for a resource a platform accepted (the ``recommendation_accepted`` hook). Commits."""
    found = []
    for user_id in selection["people"]:
        holder = db.session.get(User, user_id)
        if holder is None:
            continue
        found.append(_issue(f"selected:{selection['key']}:{user_id}", holder, level="selected",
                            honour=_("入选%(platform)s", platform=selection["platform"])[:64],
                            occasion=selection["platform"][:200], work_title=selection["title"][:200],
                            issued_on=local_day(selection["at"])))
    db.session.commit()
    return found


def announcement(certificate: Certificate) -> dict:
    """A prize as the ``award_granted`` hook describes it: one per holder, keyed by the certificate."""
    award = {"key": f"awards:certificate:{certificate.number}",
             "title": f"{certificate.occasion} {certificate.honour}：{certificate.work_title}",
             "level": certificate.level, "people": [certificate.holder_id], "at": certificate.created_at}
    if certificate.revoked_at is not None:
        award["revoked_at"] = certificate.revoked_at
    return award


def granted() -> list[dict]:
    """Every prize certificate issued so far (for ``granted_awards``)."""
    rows = db.session.scalars(select(Certificate).where(Certificate.entry_id.is_not(None)).order_by(Certificate.id))
    return [announcement(certificate) for certificate in rows]


def find(number: str) -> Certificate | None:
    clean = normalised(number)
    return db.session.scalar(select(Certificate).where(Certificate.number == clean)) if clean else None


def verify_url(certificate: Certificate) -> str:
    """Where the QR code leads: under AWARDS_PUBLIC_URL when the district set it (the address people reach the
    site by, which a request behind a proxy may not know; needed to print outside a request), else this host."""
    base = current_app.config["AWARDS_PUBLIC_URL"]
    if base:
        return base.rstrip("/") + url_for("awards_public.verify", number=certificate.number, _external=False) \
            if has_request_context() else f"{base.rstrip('/')}/verify/{certificate.number}"
    return url_for("awards_public.verify", number=certificate.number, _external=True)


# --- who may see and change them -------------------------------------------------------------------

def may_download(user, certificate: Certificate) -> bool:
    """The holder, their school's admins, and the district."""
    return (user.id == certificate.holder_id or can(user, "district.manage")
            or (user.has_role("school_admin") and user.school_id is not None
                and user.school_id == certificate.school_id))


def get_for(user, number: str) -> Certificate:
    certificate = find(number)
    if certificate is None or not may_download(user, certificate):
        raise ReslibError(_("没有找到这张证书。"), code="not_found", status=404)
    return certificate


def revoke(actor, certificate: Certificate, reason: str) -> None:
    """The district takes a certificate back; a prize's is announced as revoked (``award_revoked``). Commits."""
    if not can(actor, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以撤销证书。"), code="forbidden", status=403)
    if certificate.revoked_at is not None:
        raise ReslibError(_("这张证书已经撤销"), code="revoked", status=409)
    reason = (reason or "").strip()
    if not reason:
        raise ReslibError(_("请填写撤销理由"), field="reason")
    if len(reason) > 500:
        raise ReslibError(_("撤销理由不能超过 500 个字"), field="reason")
    certificate.revoked_at, certificate.revoke_reason = utcnow(), reason
    audit.record("awards.certificate_revoked", actor=actor, target=certificate, school_id=certificate.school_id,
                 detail=f"{certificate.number} {certificate.holder_name} {certificate.honour}：{reason}")
    db.session.commit()
    if certificate.entry_id is not None:
        hooks().award_revoked(award=announcement(certificate))


def of_school(school_id: int) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.school_id == school_id)
                                   .order_by(Certificate.id)))


def of_holder(user_id: int) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).where(Certificate.holder_id == user_id)
                                   .order_by(Certificate.issued_on.desc(), Certificate.id.desc())))


# --- the PDF ---------------------------------------------------------------------------------------

def qr_png(url: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=8, border=2)
    return buffer.getvalue()


def pdf(certificate: Certificate) -> bytes:
    """One A4 landscape page: the honour, the holder, the work, the issuer and date, the number and its QR."""
    buffer = io.BytesIO()
    width, height = landscape(A4)
    page = canvas.Canvas(buffer, pagesize=(width, height), invariant=1)
    page.setTitle(f"{certificate.honour} {certificate.holder_name}")
    page.setAuthor(certificate.issuer)
    name = cjk_font()
    page.setStrokeColorRGB(0.72, 0.12, 0.12)
    page.setLineWidth(3)
    page.rect(12 * mm, 12 * mm, width - 24 * mm, height - 24 * mm)
    page.setFillColorRGB(0.72, 0.12, 0.12)
    page.setFont(name, 40)
    page.drawCentredString(width / 2, height - 48 * mm, _("荣誉证书"))
    page.setFillColorRGB(0, 0, 0)
    page.setFont(name, 18)
    lines = [
        _("%(name)s 老师：", name=certificate.holder_name) if certificate.level != "selected"
        else _("%(name)s：", name=certificate.holder_name),
        _("您的作品《%(title)s》", title=certificate.work_title),
        _("在 %(occasion)s 中荣获 %(honour)s。", occasion=certificate.occasion, honour=certificate.honour)
        if certificate.level != "selected" else _("%(honour)s。", honour=certificate.honour),
        _("特发此证，以资鼓励。"),
    ]
    y = height - 75 * mm
    for line in lines:
        page.drawString(40 * mm, y, line)
        y -= 13 * mm
    page.drawRightString(width - 40 * mm, 50 * mm, certificate.issuer)
    page.drawRightString(width - 40 * mm, 40 * mm, certificate.issued_on.strftime("%Y 年 %m 月 %d 日"))
    url = verify_url(certificate)
    page.drawImage(ImageReader(io.BytesIO(qr_png(url))), 30 * mm, 22 * mm, 32 * mm, 32 * mm)
    page.setFont(name, 10)
    page.drawString(66 * mm, 34 * mm, _("证书编号：%(number)s", number=certificate.number))
    page.drawString(66 * mm, 28 * mm, _("扫码或访问以下地址核验："))
    page.drawString(66 * mm, 22 * mm, url)
    page.showPage()
    page.save()
    return buffer.getvalue()


def school_zip(actor, school_id: int) -> bytes:
    """Every certificate of the school's people, each a PDF, in one ZIP, for its admins; audited."""
    require_school_admin(actor, school_id)
    held = of_school(school_id)
    audit.record("awards.exported", actor=actor, school_id=school_id, detail=_l("本校证书 %(n)s 张", n=len(held)))
    db.session.commit()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for certificate in held:
            state = _("已撤销-") if certificate.revoked_at else ""
            archive.writestr(f"{state}{certificate.holder_name}-{certificate.honour}-{certificate.number}.pdf",
                             pdf(certificate))
    return buffer.getvalue()
