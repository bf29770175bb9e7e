"""The OAI-PMH provider, harvested over HTTP by a real client (Sickle): every published resource once, deletions
seen, resumption followed across a restart, the protocol's errors, and nothing that is not the district's to show."""
import threading
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from sickle import Sickle
from sickle.iterator import OAIResponseIterator
from sickle.oaiexceptions import (BadArgument, BadResumptionToken, BadVerb, CannotDisseminateFormat,
                                  IdDoesNotExist, NoRecordsMatch)
from sqlalchemy import update
from werkzeug.serving import make_server

from plugins.sync_provincial import oai
from reslib.extensions import db
from reslib.models import Resource
from reslib.testing import add_resource

OAI_NS = {"o": oai.OAI, "dc": oai.DC, "n": oai.NSR}


@pytest.fixture
def app_config():
    return {"OAI_PAGE_SIZE": 3}


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/oai"
    server.shutdown()


@pytest.fixture
def library(district):
    """Seven published resources (one by a student), one withdrawn, and what must never show."""
    made = [add_resource(district.teacher_a, title=f"公开资源{n}", section="德育" if n == 0 else "",
                         presenters="孙老师;周老师") for n in range(6)]
    made.append(add_resource(district.student_a, title="学生作品", kind="student"))
    withdrawn = add_resource(district.teacher_b, title="撤下的资源")
    withdrawn.status = "withdrawn"
    for status in ("school_approved", "draft", "submitted", "district_review"):
        add_resource(district.teacher_a, status=status, title=f"不公开{status}")
    db.session.commit()
    return made, withdrawn


def test_a_harvester_gets_every_public_resource_once_and_sees_the_withdrawal(served, library, district):
    published, withdrawn = library
    records = list(Sickle(served).ListRecords(metadataPrefix="oai_dc", ignore_deleted=False))
    identifiers = [record.header.identifier for record in records]
    assert len(identifiers) == len(set(identifiers)) == 8  # across three answers of three
    live = {record.metadata["title"][0] for record in records if not record.deleted}
    assert live == {resource.title for resource in published}
    deleted = [record for record in records if record.deleted]
    assert [record.header.identifier for record in deleted] == [f"oai:reslib.local:{withdrawn.lineage_id}"]
    by_title = {record.metadata["title"][0]: record.metadata for record in records if not record.deleted}
    assert by_title["公开资源1"]["creator"] == [district.teacher_a.real_name]
    assert "creator" not in by_title["学生作品"]  # a minor's name is never exposed


def test_nothing_the_district_has_not_published_leaks(served, library, district):
    text = "".join(record.raw for record in Sickle(served).ListRecords(metadataPrefix="nsr", ignore_deleted=False))
    assert "不公开" not in text and district.student_a.real_name not in text
    assert "公开资源0" in text and "孙老师;周老师" in text


def test_the_national_format_carries_seed_002s_fields(served, library):
    resource = library[0][0]
    record = Sickle(served).GetRecord(identifier=f"oai:reslib.local:{resource.lineage_id}", metadataPrefix="nsr")
    fields = {element.tag.split("}")[1]: element.text for element in record.xml.find(".//n:resource", OAI_NS)}
    assert {"created", "copyrightHolder", "presenters", "clicks", "learners", "cover", "catalogue", "keywords",
            "category", "typeCode"} <= set(fields)
    assert fields["presenters"] == "孙老师;周老师" and fields["clicks"] == "0" and fields["section"] == "德育"
    assert record.header.setSpecs == ["library:district", "kind:teacher", "section:1"]


def test_identify_formats_and_sets(served, library):
    sickle = Sickle(served)
    identify = sickle.Identify()
    assert (identify.protocolVersion, identify.deletedRecord, identify.granularity) == (
        "2.0", "persistent", "YYYY-MM-DDThh:mm:ssZ")
    assert [fmt.metadataPrefix for fmt in sickle.ListMetadataFormats()] == ["oai_dc", "nsr"]
    specs = [s.setSpec for s in sickle.ListSets()]
    assert specs[:2] == ["library:district", "kind:student"] and "section:6" in specs
    students = list(sickle.ListIdentifiers(metadataPrefix="oai_dc", set="kind:student"))
    assert len(students) == 1


def test_from_and_until_select_by_datestamp(app, served, library):
    published, _ = library
    old = published[0]
    moved = old.updated_at - timedelta(days=30)
    db.session.execute(update(Resource).where(Resource.id == old.id).values(updated_at=moved))
    db.session.commit()
    day = moved.strftime("%Y-%m-%d")
    early = list(Sickle(served).ListIdentifiers(metadataPrefix="oai_dc", until=day, ignore_deleted=False))
    assert [header.identifier for header in early] == [f"oai:reslib.local:{old.lineage_id}"]
    later = list(Sickle(served).ListIdentifiers(**{"metadataPrefix": "oai_dc", "from": oai.stamp(
        moved + timedelta(days=29))}, ignore_deleted=False))
    assert len(later) == 7


def test_a_resumption_token_survives_a_restart_and_expires(app, client, served, library):
    import requests

    answer = requests.get(served, params={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}, timeout=10)
    token = ET.fromstring(answer.content).find(".//o:resumptionToken", OAI_NS)
    assert token.get("completeListSize") == "8" and token.get("cursor") == "0" and token.get("expirationDate")
    # a token is the request signed: another server process with the same secret key takes it
    again = ET.fromstring(client.get(f"/oai?verb=ListIdentifiers&resumptionToken={token.text}").data)
    assert again.find(".//o:resumptionToken", OAI_NS).get("cursor") == "3"
    app.config["OAI_TOKEN_LIFETIME"] = -1
    with pytest.raises(BadResumptionToken):
        list(Sickle(served).ListIdentifiers(resumptionToken=token.text))
    with pytest.raises(BadResumptionToken):
        list(Sickle(served).ListIdentifiers(resumptionToken=token.text[:-4] + "AAAA"))


@pytest.mark.parametrize(("params", "error"), [
    ({"verb": "Nonsense"}, BadVerb),
    ({"verb": "ListRecords"}, BadArgument),  # metadataPrefix missing
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-13-01"}, BadArgument),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-01-01", "until": "2026-01-01T00:00:00Z"},
     BadArgument),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "from": "2026-02-01", "until": "2026-01-01"}, BadArgument),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "kind:nonsense"}, BadArgument),
    ({"verb": "ListRecords", "metadataPrefix": "marc21"}, CannotDisseminateFormat),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:reslib.local:999999"}, IdDoesNotExist),
    ({"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "nonsense"}, IdDoesNotExist),
    ({"verb": "ListRecords", "metadataPrefix": "oai_dc", "until": "2000-01-01"}, NoRecordsMatch),
    ({"verb": "ListRecords", "resumptionToken": "forged"}, BadResumptionToken),
    ({"verb": "Identify", "extra": "1"}, BadArgument),
])
def test_protocol_errors_are_answered_as_the_specification_says(served, library, params, error):
    sickle = Sickle(served)
    with pytest.raises(error):
        OAIResponseIterator(sickle, dict(params))  # reads the first answer and raises the error it carries


def test_a_repeated_argument_and_an_exclusive_token_are_bad_arguments(client, library):
    for query in ("verb=Identify&verb=Identify", "verb=ListRecords&metadataPrefix=oai_dc&metadataPrefix=nsr",
                  "verb=ListRecords&metadataPrefix=oai_dc&resumptionToken=x"):
        root = ET.fromstring(client.get(f"/oai?{query}").data)
        error = root.find("o:error", OAI_NS)
        assert error is not None and error.get("code") in ("badVerb", "badArgument"), query
        assert not root.find("o:request", OAI_NS).attrib  # no attributes echoed for a request at fault


def test_post_is_answered_like_get(client, library):
    root = ET.fromstring(client.post("/oai", data={"verb": "Identify"}).data)
    assert root.find("o:Identify/o:protocolVersion", OAI_NS).text == "2.0"


def test_a_published_resource_downloads_as_one_metadata_package(client, district):
    import io
    import json
    import zipfile

    from reslib.services import library as stored
    from reslib.testing import login

    cover = stored.store().put_bytes(b"\xff\xd8\xff\xe0 a stand-in for a JPEG")
    resource = add_resource(district.teacher_a, title="光的折射", presenters="孙老师", cover_sha256=cover)
    draft = add_resource(district.teacher_a, status="draft", title="草稿")
    login(client, "student.a")
    page = client.get(f"/resources/{resource.id}").get_data(as_text=True)
    assert f"/provincial/resources/{resource.id}/metadata.zip" in page
    archive = zipfile.ZipFile(io.BytesIO(client.get(f"/provincial/resources/{resource.id}/metadata.zip").data))
    assert sorted(archive.namelist()) == ["cover.jpg", "metadata.json", "metadata.xml"]
    fields = json.loads(archive.read("metadata.json"))
    assert fields["title"] == "光的折射" and fields["presenters"] == "孙老师"
    xml = ET.fromstring(archive.read("metadata.xml"))
    assert xml.find("n:presenters", OAI_NS).text == "孙老师"
    assert archive.read("cover.jpg").startswith(b"\xff\xd8")
    assert client.get(f"/provincial/resources/{draft.id}/metadata.zip").status_code in (403, 404)
