"""A published resource's metadata as one package (ZIP): metadata.json and metadata.xml (seed 002's fields, as
the OAI-PMH provider's nsr format), and cover.jpg when it has a cover; for a platform's upload form by hand."""
import io
import json
import xml.etree.ElementTree as ET
import zipfile

from flask_babel import gettext as _

from plugins.sync_provincial import oai
from reslib.errors import ReslibError
from reslib.models import Resource
from reslib.services import library


def exportable(resource: Resource) -> bool:
    return resource.status == "published"


def package(resource: Resource) -> bytes:
    if not exportable(resource):
        raise ReslibError(_("只有已入区级库的资源可以导出元数据包"), code="not_published", status=409)
    fields = oai.national_fields(resource)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("metadata.json", json.dumps(fields, ensure_ascii=False, indent=2))
        archive.writestr("metadata.xml", ET.tostring(oai.national_metadata(resource), encoding="utf-8",
                                                     xml_declaration=True))
        if resource.cover_sha256:
            archive.write(library.store().path(resource.cover_sha256), "cover.jpg")
    return buffer.getvalue()
