import hashlib
import io
import os
import stat
import struct
import subprocess
import time
import tracemalloc
import uuid
import zipfile
import zlib

import imageio_ffmpeg
import pytest
from openpyxl import Workbook
from PIL import Image
from reportlab.pdfgen import canvas

from reslib.errors import ReslibError
from reslib.services import storage
from reslib.services.storage import MiB, BlobStore, Sniffed, StagedFile, sniff


class GeneratorStream:
    """A request body stand-in: ``read(n)`` pulls pieces from a generator, as a WSGI input does."""

    def __init__(self, pieces):
        self._pieces = iter(pieces)
        self._buffer = b""
        self.exhausted = False

    def read(self, size):
        while len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                self.exhausted = True
                break
            self._buffer += piece
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data


def wav_pieces(total_bytes, piece_size=64 * 1024):
    """A WAV header then a varying (so not trivially deduplicated) sample pattern, produced lazily."""
    data_size = total_bytes - 44
    yield b"RIFF" + struct.pack("<I", total_bytes - 8) + b"WAVE" + b"fmt " + struct.pack(
        "<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16
    ) + b"data" + struct.pack("<I", data_size)
    sent = 0
    while sent < data_size:
        size = min(piece_size, data_size - sent)
        yield (sent // piece_size % 256).to_bytes(1, "big") * size
        sent += size


def staging_names(store):
    staging = store.root / "staging"
    return sorted(path.name for path in staging.iterdir()) if staging.exists() else []


@pytest.fixture
def store(tmp_path):
    return BlobStore(tmp_path / "store")


def stage_bytes(store, data, max_bytes=100 * MiB):
    return store.stage(io.BytesIO(data), max_bytes=max_bytes)


# --- staging ---------------------------------------------------------------------------------------


def test_stage_streams_50_mb_with_flat_memory_and_hashes_it(store):
    total = 50 * MiB
    expected = hashlib.sha256()
    for piece in wav_pieces(total):
        expected.update(piece)

    tracemalloc.start()
    try:
        staged = store.stage(GeneratorStream(wav_pieces(total)), max_bytes=total)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 10 * MiB
    assert staged.size == total == staged.path.stat().st_size
    assert staged.sha256 == expected.hexdigest()
    assert staged.sniffed.extension == "wav"


def test_stage_stops_as_soon_as_the_limit_is_passed_and_leaves_nothing(store):
    stream = GeneratorStream(wav_pieces(20 * MiB))
    with pytest.raises(ReslibError) as refused:
        store.stage(stream, max_bytes=3 * MiB)
    assert (refused.value.code, refused.value.status) == ("too_large", 413)
    assert "3 MB" in refused.value.message
    assert not stream.exhausted
    assert staging_names(store) == []


def test_stage_removes_the_staging_file_when_the_client_goes_away(store):
    def broken_body():
        yield from wav_pieces(3 * MiB)
        raise ConnectionResetError("client disconnected")

    with pytest.raises(ConnectionResetError):
        store.stage(GeneratorStream(broken_body()), max_bytes=10 * MiB)
    assert staging_names(store) == []


def test_stage_removes_the_staging_file_of_an_unsupported_type(store):
    with pytest.raises(ReslibError) as refused:
        stage_bytes(store, b"<html><script>alert(1)</script></html>")
    assert refused.value.code == "unsupported_type"
    assert staging_names(store) == []


def test_staging_names_are_chosen_by_the_server(store):
    seen = []

    class WatchingStream(GeneratorStream):
        def read(self, size):
            seen.extend(staging_names(store))
            return super().read(size)

    staged = store.stage(WatchingStream(wav_pieces(2 * MiB)), max_bytes=10 * MiB)
    assert seen
    for name in seen:
        assert name.endswith(".part")
        uuid.UUID(name.removesuffix(".part"))
    sha = store.commit(staged)
    assert [path.name for path in store.root.rglob("*") if path.is_file()] == [sha]


# --- sniffing --------------------------------------------------------------------------------------


def ffmpeg(path, *args):
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *args, str(path)], check=True)
    return path


VIDEO_SOURCE = ("-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=1")
AUDIO_SOURCE = ("-f", "lavfi", "-i", "sine=duration=1")


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("clip.mp4", (*VIDEO_SOURCE, "-c:v", "libx264", "-pix_fmt", "yuv420p"), ("video", "video/mp4", "mp4", True)),
        ("clip.webm", (*VIDEO_SOURCE, "-c:v", "libvpx"), ("video", "video/webm", "webm", True)),
        ("clip.mkv", (*VIDEO_SOURCE, "-c:v", "mpeg4"), ("video", "video/x-matroska", "mkv", False)),
        ("tagged.mp3", (*AUDIO_SOURCE, "-c:a", "libmp3lame"), ("audio", "audio/mpeg", "mp3", True)),
        ("bare.mp3", (*AUDIO_SOURCE, "-c:a", "libmp3lame", "-id3v2_version", "0"), ("audio", "audio/mpeg", "mp3", True)),
        (  # MPEG-2.5 frames (0xFFE3), a sync word `filetype` alone does not know
            "low.mp3",
            (*AUDIO_SOURCE, "-c:a", "libmp3lame", "-ar", "8000", "-id3v2_version", "0"),
            ("audio", "audio/mpeg", "mp3", True),
        ),
        ("voice.m4a", (*AUDIO_SOURCE, "-c:a", "aac"), ("audio", "audio/mp4", "m4a", True)),
        ("voice.wav", AUDIO_SOURCE, ("audio", "audio/x-wav", "wav", True)),
    ],
)
def test_sniff_media_made_by_ffmpeg(tmp_path, name, args, expected):
    # A misleading name: only the content may count.
    path = ffmpeg(tmp_path / name, *args).rename(tmp_path / "upload.bin")
    assert sniff(path) == Sniffed(*expected)


def make_pdf(path):
    pdf = canvas.Canvas(str(path))
    pdf.drawString(72, 720, "lesson plan")
    pdf.save()


def make_image(path, format):
    Image.new("RGB", (32, 24), "teal").save(path, format=format)


def make_office(path, folder, main_part):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as office:
        office.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        office.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        office.writestr(f"{folder}/{main_part}", "<?xml version='1.0'?><root/>")


def make_xlsx(path):
    workbook = Workbook()
    workbook.active["A1"] = "成绩"
    workbook.save(path)


def make_zip(path):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.html", "<h1>课件</h1>")
        archive.writestr("media/intro.txt", "第一课")


SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(document.cookie)</script></svg>"
)


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (make_pdf, ("pdf", "application/pdf", "pdf", True)),
        (lambda path: make_image(path, "PNG"), ("image", "image/png", "png", True)),
        (lambda path: make_image(path, "JPEG"), ("image", "image/jpeg", "jpg", True)),
        (
            lambda path: make_office(path, "word", "document.xml"),
            ("document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", False),
        ),
        (
            lambda path: make_office(path, "ppt", "presentation.xml"),
            ("document", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", False),
        ),
        (make_xlsx, ("document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", False)),
        (make_zip, ("archive", "application/zip", "zip", False)),
        (lambda path: path.write_bytes(SVG_WITH_SCRIPT), ("image", "image/svg+xml", "svg", False)),
    ],
)
def test_sniff_documents_and_images(tmp_path, make, expected):
    path = tmp_path / "upload.bin"
    make(path)
    assert sniff(path) == Sniffed(*expected)


@pytest.mark.parametrize(
    "content",
    [
        b"<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>",
        b'<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><svg/></html>',
        b"\x7fELF\x02\x01\x01\x00" + bytes(56),
        b"MZ\x90\x00\x03\x00\x00\x00" + bytes(120),
        "这是一个改名为 .mp4 的文本文件\n".encode(),
        b"\xff\xfb" + b"not really an mp3 frame" * 20,  # a sync word alone is not enough
        b"#!/bin/sh\nrm -rf /\n",
        b'<?xml version="1.0" encoding="no-such-codec"?><svg/>',
        b"PK\x03\x04" + bytes(60),  # the start of a zip without its central directory
    ],
)
def test_sniff_refuses_everything_else(tmp_path, content):
    path = tmp_path / "lesson.mp4"
    path.write_bytes(content)
    with pytest.raises(ReslibError) as refused:
        sniff(path)
    assert (refused.value.code, refused.value.status) == ("unsupported_type", 415)
    assert refused.value.message.startswith("不支持的文件类型：")


def test_sniff_calls_an_empty_file_empty(tmp_path):
    path = tmp_path / "lesson.mp4"
    path.write_bytes(b"")
    with pytest.raises(ReslibError, match="文件是空的") as refused:
        sniff(path)
    assert (refused.value.code, refused.value.status) == ("empty_file", 422)


# --- caps and bombs --------------------------------------------------------------------------------


def png_declaring(path, width, height):
    """A valid 1-bit greyscale PNG of that size, all black, written without holding its pixels."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte, then the packed bits
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )
    return path


def staged_file(store, path):
    with path.open("rb") as file:
        return store.stage(file, max_bytes=100 * MiB)


@pytest.mark.parametrize(
    "size",
    [
        (8000, 6000),  # over our limit, under Pillow's own
        (10000, 10000),  # where Pillow only warns
        (30000, 30000),  # where Pillow raises
    ],
)
def test_image_with_too_many_pixels_is_refused_quickly(store, tmp_path, size):
    staged = staged_file(store, png_declaring(tmp_path / "bomb.png", *size))
    started = time.monotonic()
    with pytest.raises(ReslibError) as refused:
        store.check(staged, {})
    assert time.monotonic() - started < 0.5
    assert (refused.value.code, refused.value.status) == ("image_too_large", 413)


def test_ordinary_images_and_svg_pass(store, tmp_path):
    photo = tmp_path / "photo.jpg"
    Image.new("RGB", (4000, 3000), "white").save(photo, quality=50)
    store.check(staged_file(store, photo), {"image": 10 * MiB})
    svg = tmp_path / "diagram.svg"
    svg.write_bytes(SVG_WITH_SCRIPT)
    store.check(staged_file(store, svg), {"image": 10 * MiB})


def test_corrupt_image_is_refused(store, tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(png_declaring(tmp_path / "good.png", 10, 10).read_bytes()[:20])
    with pytest.raises(ReslibError) as refused:
        store.check(staged_file(store, path), {})
    assert refused.value.code == "unreadable_file"


def test_zip_of_a_gigabyte_of_zeros_is_refused_without_inflating_it(store, tmp_path):
    path = tmp_path / "bomb.zip"
    zeros = bytes(MiB)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bomb:
        with bomb.open("zeros.bin", "w", force_zip64=True) as member:
            for _ in range(1024):
                member.write(zeros)
    assert path.stat().st_size < 10 * MiB
    staged = staged_file(store, path)
    started = time.monotonic()
    with pytest.raises(ReslibError) as refused:
        store.check(staged, {"archive": 100 * MiB})
    assert time.monotonic() - started < 0.5
    assert (refused.value.code, refused.value.message) == ("zip_bomb", "压缩包解压后过大（疑似压缩炸弹）")


def write_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_zip_rules(store, tmp_path, monkeypatch):
    def check(members):
        store.check(staged_file(store, write_zip(tmp_path / "upload.zip", members)), {})

    ordinary = {"index.html": "<h1>课件</h1>" * 100, "media/notes.txt": os.urandom(4096)}
    check(ordinary)
    check({"sheet.xml": b"<c/>" * 50_000})  # a small but very repetitive part is fine

    for members in (
        {"inner.zip": b"PK"},
        {"Backup.TAR.GZ": b"x"},
        {"zeros.bin": bytes(10 * MiB)},
    ):
        with pytest.raises(ReslibError) as refused:
            check(members)
        assert refused.value.code == "zip_bomb"

    monkeypatch.setattr(storage, "MAX_ZIP_MEMBERS", 5)
    with pytest.raises(ReslibError) as refused:
        check({f"page{n}.html": "x" for n in range(6)})
    assert refused.value.code == "zip_bomb"

    monkeypatch.setattr(storage, "MAX_UNZIPPED_BYTES", 4000)
    with pytest.raises(ReslibError) as refused:
        check(ordinary)
    assert refused.value.code == "zip_bomb"


def test_documents_get_the_zip_checks(store, tmp_path):
    path = tmp_path / "report.docx"
    make_office(path, "word", "document.xml")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as office:
        office.writestr("word/media/padding.bin", bytes(10 * MiB))
    staged = staged_file(store, path)
    assert staged.sniffed.kind == "document"
    with pytest.raises(ReslibError) as refused:
        store.check(staged, {})
    assert refused.value.code == "zip_bomb"


def test_per_kind_caps(store, tmp_path):
    staged = stage_bytes(store, SVG_WITH_SCRIPT)
    store.check(staged, {"image": len(SVG_WITH_SCRIPT), "video": 1})
    with pytest.raises(ReslibError) as refused:
        store.check(staged, {"image": len(SVG_WITH_SCRIPT) - 1})
    assert (refused.value.code, refused.value.status) == ("too_large", 413)
    assert refused.value.message.startswith("图片过大")

    # Caps are compared with the recorded size, so a large one can be shown without writing it.
    video = StagedFile(tmp_path / "never-read", "0" * 64, 3 * 1024 * MiB, Sniffed("video", "video/mp4", "mp4", True))
    with pytest.raises(ReslibError) as refused:
        store.check(video, {"video": 2 * 1024 * MiB})
    assert refused.value.message == "视频过大，最大允许 2 GB"


# --- blobs -----------------------------------------------------------------------------------------


def test_commit_is_content_addressed_and_idempotent(store):
    data = SVG_WITH_SCRIPT
    sha = hashlib.sha256(data).hexdigest()
    assert store.commit(stage_bytes(store, data)) == sha
    blob = store.root / "blobs" / sha[:2] / sha[2:4] / sha
    first_inode = blob.stat().st_ino
    assert store.commit(stage_bytes(store, data)) == sha
    assert blob.stat().st_ino == first_inode  # the stored blob is left alone, the duplicate dropped

    assert store.path(sha) == blob
    assert blob.read_bytes() == data
    assert stat.S_IMODE(blob.stat().st_mode) == 0o444
    assert store.exists(sha) and store.size(sha) == len(data)
    assert list(store.iter_blobs()) == [sha]
    assert staging_names(store) == []


def test_discard_removes_the_staged_file(store):
    staged = stage_bytes(store, SVG_WITH_SCRIPT)
    store.discard(staged)
    assert staging_names(store) == []
    assert not store.exists(staged.sha256)


@pytest.mark.parametrize(
    "bad", ["../../etc/passwd", "a" * 63, "A" * 64, "a" * 64 + "\n", "a" * 32 + "\x00" + "a" * 31, None]
)
def test_paths_are_only_built_from_a_sha(store, bad):
    with pytest.raises(ValueError):
        store.path(bad)


def test_derived_files_take_the_same_path(store, tmp_path):
    captions = tmp_path / "captions.vtt"  # derived files are ours, so not limited to upload types
    captions.write_text("WEBVTT\n\n00:00.000 --> 00:01.000\n你好\n")
    from_file = store.put_file(captions)
    from_bytes = store.put_bytes(b"thumbnail bytes")
    assert from_file == hashlib.sha256(captions.read_bytes()).hexdigest()
    assert captions.exists()
    assert store.path(from_bytes).read_bytes() == b"thumbnail bytes"
    assert store.put_bytes(b"thumbnail bytes") == from_bytes
    assert sorted(store.iter_blobs()) == sorted([from_file, from_bytes])
    assert staging_names(store) == []


def test_sweep_staging_removes_old_orphans_only(store):
    old = stage_bytes(store, SVG_WITH_SCRIPT).path
    fresh = stage_bytes(store, SVG_WITH_SCRIPT).path
    an_hour_and_more_ago = time.time() - 3700
    os.utime(old, (an_hour_and_more_ago, an_hour_and_more_ago))
    assert store.sweep_staging(older_than_seconds=3600) == 1
    assert not old.exists() and fresh.exists()
    assert store.sweep_staging() == 0


def test_verify_detects_a_flipped_byte(store):
    sha = store.put_bytes(b"a lesson recording" * 1000)
    assert store.verify(sha)
    blob = store.path(sha)
    blob.chmod(0o644)
    with blob.open("r+b") as file:
        file.seek(500)
        byte = file.read(1)
        file.seek(500)
        file.write(bytes([byte[0] ^ 0x01]))
    assert not store.verify(sha)


@pytest.mark.parametrize("size, shown", [(0, "0 B"), (900, "900 B"), (4505, "4.4 KB"), (1024**2, "1 MB"),
                                         (int(23.14 * 1024**2), "23.1 MB"), (4 * 1024**3, "4 GB"), (None, "0 B")])
def test_file_sizes_read_in_the_unit_that_fits(size, shown):
    assert storage.file_size(size) == shown


def test_a_small_file_does_not_read_as_empty_on_its_pages(client, district):
    from reslib.testing import MINIMAL_PDF, add_resource, login

    draft = add_resource(district.teacher_a, status="draft", content=MINIMAL_PDF * 20)  # about 4 KB
    login(client, "teacher.a")
    for path in (f"/resources/{draft.id}/edit", f"/resources/{draft.id}"):
        page = client.get(path).get_data(as_text=True)
        assert storage.file_size(len(MINIMAL_PDF * 20)) in page and "0.0 MB" not in page, path
