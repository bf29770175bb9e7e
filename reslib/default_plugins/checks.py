"""The core's own review checks, contributed through the review_checks hook like any plugin's."""
from flask_babel import gettext as _

from reslib import hookimpl
from reslib.models.library import STATUSES
from reslib.permissions import can
from reslib.services import library

# The national metadata standard's 资源类型代码 for each kind of media file.
TYPE_CODE_FOR_KIND = {"video": "A01", "audio": "A02"}


@hookimpl(tryfirst=True)
def review_checks(resource, viewer):
    return [*_metadata(resource), *_technical(resource), *_duplicates(resource, viewer), *_processing(resource),
            *_content_scan(resource)]


def _finding(check: str, ok: bool, message: str) -> dict:
    return {"check": check, "ok": ok, "message": message}


def _metadata(resource) -> list[dict]:
    """Completeness against the national metadata standard."""
    missing = dict(library.missing_for_submission(resource))
    if not resource.category_id:
        missing["category_id"] = _("请选择所属分类")
    wanted_code = TYPE_CODE_FOR_KIND.get(resource.file_kind)
    if wanted_code and resource.type_code != wanted_code:
        missing["type_code"] = _("资源类型代码应为 %(code)s", code=wanted_code)
    if not resource.cover_sha256:
        missing["cover"] = _("请上传封面（JPG）")
    if not missing:
        return [_finding("metadata", True, _("元数据齐全"))]
    return [_finding(f"metadata.{name}", False, message) for name, message in missing.items()]


def _technical(resource) -> list[dict]:
    """The technical standard, clause by clause, for video and audio."""
    if resource.file_kind not in ("video", "audio"):
        return []
    if not resource.probe:
        return [_finding("technical", False, _("尚未检测技术指标（文件未处理完成）"))]
    # Imported here, not at start-up: the media module loads the decoder libraries.
    from reslib.services.media import Probe
    from reslib.services.standards import technical_findings

    return [_shown(finding) for finding in technical_findings(resource.file_kind, Probe.from_dict(resource.probe))]


def _content_scan(resource) -> list[dict]:
    """The QR codes and contact details the worker found and stored."""
    from reslib.services.standards import Finding

    return [_shown(Finding.from_dict(stored)) for stored in resource.checks]


def _shown(finding) -> dict:
    """A standards.Finding as the review_checks hook gives it: in the reader's language."""
    return _finding(finding.check, finding.ok, finding.text())


def _duplicates(resource, viewer) -> list[dict]:
    """Twins are named only to a viewer who may see them: another school's draft keeps its title, number and
    state to itself, and is only said to exist."""
    if not resource.file_sha256:
        return []
    others = library.duplicates_of(resource)
    if not others:
        return [_finding("duplicate", True, _("未发现重复文件"))]
    named = [other for other in others if can(viewer, "resource.view", other)]
    findings = [_finding("duplicate", False, _("与《%(title)s》（编号 %(id)s，%(status)s）文件完全相同",
                                               title=other.title, id=other.id, status=STATUSES[other.status]))
                for other in named]
    if len(named) < len(others):
        findings.append(_finding("duplicate", False, _("资源库中已有与此完全相同的文件（你无权查看）")))
    return findings


def _processing(resource) -> list[dict]:
    if resource.processing != "failed":
        return []
    return [_finding("processing", False, _("文件处理失败：%(error)s", error=resource.processing_failure or ""))]
