"""An OAI-PMH 2.0 provider (https://www.openarchives.org/OAI/openarchivesprotocol.html) over the district library.

Only what is published to the district is exposed: one record per resource lineage (its newest published
version), never school-only items, drafts or reviews, and never a student's name. A lineage withdrawn from
the district library stays visible as a deleted record (deletedRecord = persistent). Datestamps are the
version's last change, in UTC to the second. Resumption tokens are signed (the app's secret key), carry the
whole request and where it stopped, so they survive a restart, and expire after OAI_TOKEN_LIFETIME seconds.
"""
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select

from reslib import national
from reslib.extensions import db
from reslib.models import Resource, utcnow
from reslib.models.library import KINDS
from reslib.services import usage, vocabularies

OAI = "http://www.openarchives.org/OAI/2.0/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC = "http://purl.org/dc/elements/1.1/"
NSR = "urn:reslib:nsr:2022"  # seed 002's metadata for the national platform, as this provider writes it
FORMATS = {
    "oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC),
    "nsr": (None, NSR),  # its schema is served beside /oai (views: oai_schema)
}
for prefix, namespace in (("", OAI), ("xsi", XSI), ("oai_dc", OAI_DC), ("dc", DC), ("nsr", NSR)):
    ET.register_namespace(prefix, namespace)

ARGUMENTS = {  # verb: (required, optional); resumptionToken is exclusive where allowed
    "Identify": (set(), set()),
    "ListMetadataFormats": (set(), {"identifier"}),
    "ListSets": (set(), {"resumptionToken"}),
    "GetRecord": ({"identifier", "metadataPrefix"}, set()),
    "ListIdentifiers": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
    "ListRecords": ({"metadataPrefix"}, {"from", "until", "set", "resumptionToken"}),
}
EXPOSED = ("published", "withdrawn")  # a withdrawn lineage is a deleted record
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class OAIError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def identifier_of(lineage_id: int) -> str:
    return f"oai:{current_app.config['OAI_REPOSITORY_ID']}:{lineage_id}"


def lineage_of(identifier: str) -> int | None:
    prefix = identifier_of(0)[:-1]
    tail = identifier.removeprefix(prefix) if identifier.startswith(prefix) else ""
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) <= 10 else None


# --- sets ------------------------------------------------------------------------------------------

def sets() -> list[tuple[str, str]]:
    """(setSpec, setName): the district library, each kind, each national section."""
    found = [("library:district", current_app.config["DISTRICT_NAME"] + "资源库")]
    found += [(f"kind:{key}", str(label)) for key, label in KINDS.items()]
    found += [(f"section:{index}", name) for index, name in enumerate(national.sections(), start=1)]
    return found


def _set_filter(spec: str | None) -> list:
    if not spec or spec == "library:district":
        return []
    kind = spec.removeprefix("kind:") if spec.startswith("kind:") else None
    if kind in KINDS:
        return [Resource.kind == kind]
    index = spec.removeprefix("section:") if spec.startswith("section:") else ""
    if index.isdigit() and 1 <= int(index) <= len(national.sections()):
        return [Resource.section == national.sections()[int(index) - 1]]
    raise OAIError("badArgument", f"unknown set {spec!r}")


def set_specs(resource: Resource) -> list[str]:
    specs = ["library:district", f"kind:{resource.kind}"] if resource.kind else ["library:district"]
    if resource.section in national.sections():
        specs.append(f"section:{national.sections().index(resource.section) + 1}")
    return specs


# --- the records -----------------------------------------------------------------------------------

def _records(extra: list):
    """The newest exposed version of each lineage, ordered by lineage."""
    newest = (select(func.max(Resource.id)).where(Resource.status.in_(EXPOSED), Resource.published_at.is_not(None))
              .group_by(Resource.lineage_id))
    return select(Resource).where(Resource.id.in_(newest), *extra).order_by(Resource.lineage_id)


def _moment(name: str, text: str) -> tuple[datetime, str]:
    """A from/until value and its granularity; until covers the whole day or second it names."""
    if SECOND.fullmatch(text):
        moment, granularity, step = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ"), "second", timedelta(seconds=1)
    elif DAY.fullmatch(text):
        moment, granularity, step = datetime.strptime(text, "%Y-%m-%d"), "day", timedelta(days=1)
    else:
        raise OAIError("badArgument", f"{name} must be YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ")
    return (moment + step if name == "until" else moment), granularity


def _dates(args: dict) -> list:
    """Conditions for from (inclusive) and until (inclusive of its day or second)."""
    try:
        given = {name: _moment(name, args[name]) for name in ("from", "until") if args.get(name) is not None}
    except ValueError as exc:  # 2026-02-30
        raise OAIError("badArgument", "not a real date") from exc
    if len({granularity for _moment_, granularity in given.values()}) > 1:
        raise OAIError("badArgument", "from and until must have the same granularity")
    if "from" in given and "until" in given and given["from"][0] >= given["until"][0]:
        raise OAIError("badArgument", "from is later than until")
    found = []
    if "from" in given:
        found.append(Resource.updated_at >= given["from"][0])
    if "until" in given:
        found.append(Resource.updated_at < given["until"][0])
    return found


def earliest() -> datetime:
    first = db.session.scalar(select(func.min(Resource.updated_at)).where(Resource.status.in_(EXPOSED),
                                                                          Resource.published_at.is_not(None)))
    return first or utcnow()


# --- resumption tokens -----------------------------------------------------------------------------

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="reslib.oai.resumption")


def _token(request: dict, after: int, cursor: int) -> str:
    return _serializer().dumps({**request, "after": after, "cursor": cursor})


def _untoken(token: str) -> dict:
    try:
        return _serializer().loads(token, max_age=current_app.config["OAI_TOKEN_LIFETIME"])
    except SignatureExpired as exc:
        raise OAIError("badResumptionToken", "the resumption token has expired") from exc
    except BadSignature as exc:
        raise OAIError("badResumptionToken", "the resumption token is not valid") from exc


# --- the response ----------------------------------------------------------------------------------

def respond(args: dict[str, list[str]], base_url: str) -> tuple[bytes, int]:
    """The XML answer to one OAI-PMH request (``args`` as parsed, each name with all its values)."""
    root = ET.Element(f"{{{OAI}}}OAI-PMH")
    root.set(f"{{{XSI}}}schemaLocation", f"{OAI} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd")
    ET.SubElement(root, f"{{{OAI}}}responseDate").text = stamp(utcnow())
    request_element = ET.SubElement(root, f"{{{OAI}}}request")
    request_element.text = base_url
    verb = (args.get("verb") or [None])[0]
    try:
        if len(args.get("verb", [])) != 1 or verb not in ARGUMENTS:
            raise OAIError("badVerb", "missing, repeated or unknown verb")
        single = _checked_arguments(verb, args)
        for name, value in single.items():
            request_element.set(name, value)
        request_element.set("verb", verb)
        root.append(VERBS[verb](dict(single), base_url))
    except OAIError as error:
        if error.code in ("badVerb", "badArgument"):
            request_element.attrib.clear()  # the spec: no attributes when the request itself is at fault
        ET.SubElement(root, f"{{{OAI}}}error", code=error.code).text = error.message
    return ET.tostring(root, encoding="utf-8", xml_declaration=True), 200


def _checked_arguments(verb: str, args: dict[str, list[str]]) -> dict[str, str]:
    required, optional = ARGUMENTS[verb]
    names = set(args) - {"verb"}
    if any(len(values) != 1 for values in args.values()):
        raise OAIError("badArgument", "an argument is repeated")
    if names - required - optional:
        raise OAIError("badArgument", f"illegal arguments: {', '.join(sorted(names - required - optional))}")
    single = {name: args[name][0] for name in names}
    if "resumptionToken" in single:
        if names != {"resumptionToken"}:
            raise OAIError("badArgument", "resumptionToken is an exclusive argument")
        return single
    if required - names:
        raise OAIError("badArgument", f"missing: {', '.join(sorted(required - names))}")
    return single


def identify(args: dict, base_url: str) -> ET.Element:
    element = ET.Element(f"{{{OAI}}}Identify")
    for name, value in (("repositoryName", current_app.config["DISTRICT_NAME"] + "数字化教学资源库"),
                        ("baseURL", base_url), ("protocolVersion", "2.0"),
                        ("adminEmail", current_app.config["OAI_ADMIN_EMAIL"]),
                        ("earliestDatestamp", stamp(earliest())), ("deletedRecord", "persistent"),
                        ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
        ET.SubElement(element, f"{{{OAI}}}{name}").text = value
    return element


def list_metadata_formats(args: dict, base_url: str) -> ET.Element:
    if "identifier" in args:
        _get(args["identifier"])
    element = ET.Element(f"{{{OAI}}}ListMetadataFormats")
    for prefix, (schema, namespace) in FORMATS.items():
        fmt = ET.SubElement(element, f"{{{OAI}}}metadataFormat")
        ET.SubElement(fmt, f"{{{OAI}}}metadataPrefix").text = prefix
        ET.SubElement(fmt, f"{{{OAI}}}schema").text = schema or url_for("sync_provincial_oai.nsr_schema",
                                                                        _external=True)
        ET.SubElement(fmt, f"{{{OAI}}}metadataNamespace").text = namespace
    return element


def list_sets(args: dict, base_url: str) -> ET.Element:
    if "resumptionToken" in args:  # every set fits one answer: no token is ever issued
        raise OAIError("badResumptionToken", "this repository issues no resumption tokens for ListSets")
    element = ET.Element(f"{{{OAI}}}ListSets")
    for spec, name in sets():
        one = ET.SubElement(element, f"{{{OAI}}}set")
        ET.SubElement(one, f"{{{OAI}}}setSpec").text = spec
        ET.SubElement(one, f"{{{OAI}}}setName").text = name
    return element


def _get(identifier: str) -> Resource:
    lineage = lineage_of(identifier)
    resource = db.session.scalar(_records([Resource.lineage_id == lineage])) if lineage is not None else None
    if resource is None:
        raise OAIError("idDoesNotExist", f"no record {identifier}")
    return resource


def _prefix(args: dict) -> str:
    if args["metadataPrefix"] not in FORMATS:
        raise OAIError("cannotDisseminateFormat", f"no format {args['metadataPrefix']!r}: oai_dc or nsr")
    return args["metadataPrefix"]


def get_record(args: dict, base_url: str) -> ET.Element:
    prefix = _prefix(args)
    element = ET.Element(f"{{{OAI}}}GetRecord")
    element.append(record(_get(args["identifier"]), prefix))
    return element


def _listing(verb: str, args: dict) -> ET.Element:
    if "resumptionToken" in args:
        args = _untoken(args["resumptionToken"])
        if args.get("verb") != verb:
            raise OAIError("badResumptionToken", "the resumption token belongs to another verb")
    else:
        args = {**args, "verb": verb, "until": args.get("until") or stamp(utcnow())}  # a list fixed in time
    prefix = _prefix(args)
    where = [*_dates(args), *_set_filter(args.get("set"))]
    total = db.session.scalar(select(func.count()).select_from(_records(where).subquery()))
    page = list(db.session.scalars(_records([*where, Resource.lineage_id > args.get("after", 0)])
                                   .limit(current_app.config["OAI_PAGE_SIZE"])))
    if not page:
        raise OAIError("noRecordsMatch", "no records match")
    element = ET.Element(f"{{{OAI}}}{verb}")
    for resource in page:
        element.append(header(resource) if verb == "ListIdentifiers" else record(resource, prefix))
    cursor = args.get("cursor", 0)
    if cursor or cursor + len(page) < total:  # a list in parts: each part says where it is, the last with no token
        token = ET.SubElement(element, f"{{{OAI}}}resumptionToken", completeListSize=str(total), cursor=str(cursor))
        if cursor + len(page) < total:
            expires = utcnow() + timedelta(seconds=current_app.config["OAI_TOKEN_LIFETIME"])
            token.set("expirationDate", stamp(expires))
            token.text = _token(args, page[-1].lineage_id, cursor + len(page))
    return element


def list_identifiers(args: dict, base_url: str) -> ET.Element:
    return _listing("ListIdentifiers", args)


def list_records(args: dict, base_url: str) -> ET.Element:
    return _listing("ListRecords", args)


VERBS = {"Identify": identify, "ListMetadataFormats": list_metadata_formats, "ListSets": list_sets,
         "GetRecord": get_record, "ListIdentifiers": list_identifiers, "ListRecords": list_records}


def header(resource: Resource) -> ET.Element:
    element = ET.Element(f"{{{OAI}}}header")
    if resource.status != "published":
        element.set("status", "deleted")
    ET.SubElement(element, f"{{{OAI}}}identifier").text = identifier_of(resource.lineage_id)
    ET.SubElement(element, f"{{{OAI}}}datestamp").text = stamp(resource.updated_at)
    for spec in set_specs(resource):
        ET.SubElement(element, f"{{{OAI}}}setSpec").text = spec
    return element


def record(resource: Resource, prefix: str) -> ET.Element:
    element = ET.Element(f"{{{OAI}}}record")
    element.append(header(resource))
    if resource.status == "published":  # a deleted record has a header only
        metadata = ET.SubElement(element, f"{{{OAI}}}metadata")
        metadata.append(dublin_core(resource) if prefix == "oai_dc" else national_metadata(resource))
    return element


def creator(resource: Resource) -> str | None:
    """The author's name, unless a student: minors' names are never exposed."""
    owner = resource.owner
    return None if owner is None or (owner.has_role("student") and not owner.has_role("teacher")) else owner.real_name


def dublin_core(resource: Resource) -> ET.Element:
    dc = ET.Element(f"{{{OAI_DC}}}dc")
    dc.set(f"{{{XSI}}}schemaLocation", f"{OAI_DC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")

    def add(name, value):
        if value:
            ET.SubElement(dc, f"{{{DC}}}{name}").text = str(value)

    add("title", resource.title)
    add("creator", creator(resource))
    for word in filter(None, (resource.keywords or "").split(";")):
        add("subject", word.strip())
    add("subject", vocabularies.term_label(resource.subject))
    add("description", resource.description)
    add("publisher", current_app.config["DISTRICT_NAME"])
    add("date", (resource.created_on or resource.published_at.date()).isoformat())
    add("type", str(KINDS.get(resource.kind, "")) if resource.kind else None)
    add("format", resource.file_mime)
    add("identifier", url_for("library.resource", resource_id=resource.id, _external=True))
    add("language", "zh")
    add("rights", resource.copyright_holder)
    return dc


def national_fields(resource: Resource) -> dict[str, str]:
    """Seed 002's fields of a published resource, as text."""
    counts = usage.counts(resource)
    return {
        "title": resource.title,
        "created": (resource.created_on or resource.published_at.date()).isoformat(),
        "copyrightHolder": resource.copyright_holder or "",
        "presenters": resource.presenters or "",
        "clicks": str(counts["views"]),
        "learners": str(counts["learners"]),
        "cover": url_for("library.cover", resource_id=resource.id, _external=True) if resource.cover_sha256 else "",
        "keywords": resource.keywords or "",
        "category": vocabularies.term_label(resource.category) if resource.category_id else "",
        "typeCode": resource.type_code or "",
        "section": resource.section or "",
        "column": resource.column or "",
        "description": resource.description or "",
        "url": url_for("library.resource", resource_id=resource.id, _external=True),
        "catalogue": resource.catalogue_xml or "",
    }


def national_metadata(resource: Resource) -> ET.Element:
    """Seed 002's fields: 创建时间, 版权方, 主讲人 (;-list), 点击量, 学习人数, 封面, 资源目录, 关键词, 所属分类, 资源类型代码."""
    root = ET.Element(f"{{{NSR}}}resource")
    for name, value in national_fields(resource).items():
        ET.SubElement(root, f"{{{NSR}}}{name}").text = value
    return root
