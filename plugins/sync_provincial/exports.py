"""What a round sends upward by hand: the 推荐表 (seed 001's columns) as XLSX and PDF, seed 000's 联系表, and
one ZIP with both forms and the metadata package of every selected resource."""
import io
import zipfile

from flask_babel import gettext as _

from plugins.sync_provincial import packages
from plugins.sync_provincial.models import Recommendation, RecommendationRound
from plugins.sync_provincial.rounds import (CONTACT_FIELDS, CONTACT_PEOPLE, CONTACT_PERSON_PARTS, CHOSEN, contact_of,
                                            recommendations)
from reslib.services.pdf import table_pdf
from reslib.services.tables import xlsx_workbook

DESCRIPTION_LIMIT = 300  # the form's 资源内容简介 is a summary, not the whole description


def form_header() -> list[str]:
    return [_("序号"), _("资源标题"), _("资源制作方"), _("拟上线版块"), _("拟上线栏目"), _("资源版权方"), _("资源格式"),
            _("资源内容简介"), _("备注")]


def chosen(round_: RecommendationRound) -> list[Recommendation]:
    """What the district chose and is still in the district library, i.e. what goes on the form, by section (a
    resource withdrawn since is not sent upward; the round's page shows it as no longer in the library)."""
    return [item for item in recommendations(round_) if item.status in CHOSEN and packages.exportable(item.resource)]


def form_rows(round_: RecommendationRound) -> list[list]:
    rows = []
    for number, item in enumerate(chosen(round_), start=1):
        resource = item.resource
        maker = resource.school.name if resource.school else ""
        description = " ".join((resource.description or "").split())
        if len(description) > DESCRIPTION_LIMIT:
            description = description[:DESCRIPTION_LIMIT] + "…"
        rows.append([number, resource.title, maker, item.section, item.column, resource.copyright_holder or "",
                     file_format(resource), description, item.note])
    return rows


def file_format(resource) -> str:
    """What the form calls 资源格式: the file's extension in capitals (MP4, PDF), or 网页链接 for a link."""
    if resource.link_url and not resource.file_name:
        return _("网页链接")
    name = resource.file_name or ""
    return name.rsplit(".", 1)[-1].upper() if "." in name else ""


def contact_header() -> list[str]:
    return [_("项目"), *[str(label) for label in CONTACT_PERSON_PARTS.values()]]


def contact_rows(round_: RecommendationRound) -> list[list[str]]:
    """Seed 000's form: the unit, department and address, then one line per person with their details."""
    contact = contact_of(round_)
    blank = [""] * (len(CONTACT_PERSON_PARTS) - 1)
    rows = [[str(CONTACT_FIELDS[key]), contact.get(key, ""), *blank] for key in ("unit", "department", "address")]
    for person in CONTACT_PEOPLE:
        rows.append([str(CONTACT_FIELDS[person]), *[contact.get(f"{person}.{part}", "") for part in CONTACT_PERSON_PARTS]])
    return rows


def heading_lines(round_: RecommendationRound) -> tuple[str, ...]:
    contact = contact_of(round_)
    return (_("填表单位：%(unit)s　　联系人：%(name)s　　联系电话：%(phone)s", unit=contact.get("unit", ""),
              name=contact.get("organiser_contact.name", ""),
              phone=contact.get("organiser_contact.mobile") or contact.get("organiser_contact.office_phone", "")),)


def form_title(round_: RecommendationRound) -> str:
    return _("%(title)s推荐表", title=round_.title)


def form_xlsx(round_: RecommendationRound) -> bytes:
    return xlsx_workbook([(_("推荐表"), form_header(), form_rows(round_)),
                          (_("联系表"), contact_header(), contact_rows(round_))])


def form_pdf(round_: RecommendationRound) -> bytes:
    return table_pdf(form_title(round_), form_header(), [[str(cell) for cell in row] for row in form_rows(round_)],
                     widths_mm=[10, 45, 30, 20, 22, 28, 16, 80, 22], empty=_("还没有选定的资源。"),
                     lines_above=heading_lines(round_))


def contact_pdf(round_: RecommendationRound) -> bytes:
    return table_pdf(_("数字资源征集工作联系表"), contact_header(), contact_rows(round_),
                     widths_mm=[45, 35, 50, 30, 35, 30, 40], empty="")


def package_zip(round_: RecommendationRound) -> bytes:
    """The forms, and each selected resource's metadata package under 序号-标题/, in the form's order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_("推荐表.xlsx"), form_xlsx(round_))
        archive.writestr(_("推荐表.pdf"), form_pdf(round_))
        archive.writestr(_("联系表.pdf"), contact_pdf(round_))
        for number, item in enumerate(chosen(round_), start=1):
            folder = f"{number:03d}-{safe_folder(item.resource.title)}/"
            with zipfile.ZipFile(io.BytesIO(packages.package(item.resource))) as inner:
                for name in inner.namelist():
                    archive.writestr(folder + name, inner.read(name))
    return buffer.getvalue()


def safe_folder(title: str) -> str:
    """A title as a folder name any unzip accepts: no path separators or characters Windows refuses."""
    kept = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in title).strip(". ")
    return kept[:60] or "resource"
