"""The title-evaluation record (职称评审 / 业务考核): a person's certificates, each marked where it counts as a
published paper (区级二等奖及以上), linked to its verification page; as XLSX and as PDF."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from plugins.awards.certificates import verify_url
from plugins.awards.entries import require_school_admin
from plugins.awards.models import Certificate
from reslib.extensions import db
from reslib.models import User
from reslib.services import audit
from reslib.services.pdf import table_pdf
from reslib.services.tables import xlsx_bytes


def header() -> list[str]:
    return [_("姓名"), _("作品"), _("评比或平台"), _("奖项"), _("日期"), _("计为发表论文"), _("状态"), _("证书编号"),
            _("核验地址")]


def rows(certificates: list[Certificate]) -> list[list[str]]:
    return [[certificate.holder_name, certificate.work_title, certificate.occasion, certificate.honour,
             certificate.issued_on.isoformat(),
             _("是（区级二等奖及以上）") if certificate.counts_as_paper and not certificate.revoked_at else _("否"),
             _("已撤销") if certificate.revoked_at else _("有效"), certificate.number, verify_url(certificate)]
            for certificate in certificates]


def of_people(user_ids: list[int]) -> list[Certificate]:
    return list(db.session.scalars(select(Certificate).join(User, User.id == Certificate.holder_id)
                                   .where(Certificate.holder_id.in_(user_ids))
                                   .order_by(User.id, Certificate.issued_on, Certificate.id)))


def of_school(actor, school_id: int) -> list[Certificate]:
    """The certificates of everyone in the school, person by person, for its admins (业务考核); audited."""
    require_school_admin(actor, school_id)
    holders = db.session.scalars(select(Certificate.holder_id).where(Certificate.school_id == school_id).distinct())
    held = of_people(list(holders))
    audit.record("awards.exported", actor=actor, school_id=school_id,
                 detail=_l("本校教师获奖记录 %(n)s 条", n=len(held)))
    db.session.commit()
    return held


def xlsx(title: str, certificates: list[Certificate]) -> bytes:
    return xlsx_bytes(title, header(), rows(certificates))


def pdf(title: str, certificates: list[Certificate]) -> bytes:
    wanted = [0, 1, 2, 3, 4, 5, 6, 8]  # the number is part of the address: one column fewer on paper
    return table_pdf(title, [header()[index] for index in wanted],
                     [[row[index] for index in wanted] for row in rows(certificates)],
                     widths_mm=[18, 45, 45, 16, 22, 30, 14, 83], empty=_("还没有获奖或入选记录。"))
