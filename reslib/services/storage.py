"""Upload storage: streaming staging, content sniffing, size caps, bomb checks and content-addressed blobs.

An upload goes staging file → fsync → atomic rename into ``blobs/`` → DB commit (by the caller), so a
crash leaves at most an orphan in ``staging/`` that :meth:`BlobStore.sweep_staging` removes. Blobs are
named by their sha256 and never change; paths are only ever built from a validated sha or a uuid4,
never from a client's file name.
"""
import hashlib
import io
import os
import re
import stat
import time
import uuid
import warnings
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import filetype
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from PIL import Image

from reslib.errors import ReslibError

KINDS = ("video", "audio", "pdf", "document", "image", "archive")

MiB = 1024 * 1024
GiB = 1024 * MiB
CHUNK_SIZE = MiB
MAX_IMAGE_PIXELS = 40_000_000
MAX_UNZIPPED_BYTES = 4 * GiB
MAX_ZIP_RATIO = 100
MAX_ZIP_MEMBERS = 10_000
# Members smaller than this cannot expand into anything harmful, and small repetitive XML parts of
# Office files legitimately compress far better than MAX_ZIP_RATIO.
ZIP_RATIO_MIN_BYTES = MiB
NESTED_ARCHIVE_SUFFIXES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst")

_HEAD_BYTES = 8192
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_KIND_LABELS = {
    "video": _l("视频"),
    "audio": _l("音频"),
    "pdf": "PDF",
    "document": _l("Office 文档"),
    "image": _l("图片"),
    "archive": _l("压缩包"),
}


@dataclass(frozen=True)
class Sniffed:
    kind: str
    mime: str
    extension: str  # without the dot
    inline_safe: bool  # a browser may show it in the page; everything else is served as a download


# What `filetype` recognises and we accept: its extension → (kind, inline_safe). Its mime is kept.
# mp3 is not here: filetype's frame-sync test is too loose, so _is_mp3 decides.
_ACCEPTED = {
    "mp4": ("video", True),
    "webm": ("video", True),
    "m4v": ("video", False),
    "mkv": ("video", False),
    "mov": ("video", False),
    "avi": ("video", False),
    "wmv": ("video", False),
    "flv": ("video", False),
    "mpg": ("video", False),
    "3gp": ("video", False),
    "m4a": ("audio", True),
    "ogg": ("audio", True),
    "wav": ("audio", True),
    "flac": ("audio", False),
    "aac": ("audio", False),
    "amr": ("audio", False),
    "pdf": ("pdf", True),
    "png": ("image", True),
    "apng": ("image", True),
    "jpg": ("image", True),
    "gif": ("image", True),
    "webp": ("image", True),
    "bmp": ("image", False),
}

MP3 = Sniffed("audio", "audio/mpeg", "mp3", True)
SVG = Sniffed("image", "image/svg+xml", "svg", False)  # may carry scripts: never inline
ZIP = Sniffed("archive", "application/zip", "zip", False)
_OFFICE = (  # (member folder, Sniffed); the order only matters for odd files with several
    ("word/", Sniffed("document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", False)),
    ("ppt/", Sniffed("document", "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx", False)),
    ("xl/", Sniffed("document", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", False)),
)


def sniff(path) -> Sniffed:
    """Tell what a file is from its content alone; refuse (415) anything we do not accept."""
    path = Path(path)
    with path.open("rb") as file:
        head = file.read(_HEAD_BYTES)
        if not head:  # say so plainly: "unrecognised type" would send the teacher hunting for a format problem
            raise ReslibError(_("文件是空的（0 字节），请检查后重新选择"), code="empty_file", status=422)
        if head.startswith(b"PK\x03\x04"):
            return _sniff_zip(path)
        if _is_svg(head):
            return SVG
        if _is_mp3(file, head):
            return MP3
    guessed = filetype.guess(head)
    if guessed is not None and guessed.extension in _ACCEPTED:
        kind, inline_safe = _ACCEPTED[guessed.extension]
        return Sniffed(kind, guessed.mime, guessed.extension, inline_safe)
    raise _unsupported(guessed.mime if guessed is not None else _("无法识别"))


def _unsupported(what: str) -> ReslibError:
    return ReslibError(
        _("不支持的文件类型：%(what)s，可上传视频、音频、PDF、Word/PowerPoint/Excel、图片或 zip 课件包", what=what),
        code="unsupported_type",
        status=415,
    )


def _zip_members(path: Path) -> list[zipfile.ZipInfo]:
    """The central directory's entries; reading it inflates nothing."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.infolist()
    # zipfile also raises NotImplementedError for unknown format versions and ValueError for bad names
    except (zipfile.BadZipFile, NotImplementedError, ValueError):
        raise _unsupported(_("损坏或无法读取的 zip 文件")) from None


def _sniff_zip(path: Path) -> Sniffed:
    names = [member.filename for member in _zip_members(path)]
    if "[Content_Types].xml" in names:
        for folder, sniffed in _OFFICE:
            if any(name.startswith(folder) for name in names):
                return sniffed
    return ZIP


def _is_svg(head: bytes) -> bool:
    """True when the file is XML whose root element is <svg>.

    Only the head is parsed, so the root must start within it (after the XML declaration, comments and
    doctype), as it does in real SVG files. That, and expat's cap on entity amplification, keeps it cheap.
    """
    if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return False
    parser = ElementTree.XMLPullParser(events=("start",))
    try:
        parser.feed(head)
        for _event, root in parser.read_events():
            return root.tag in ("svg", "{http://www.w3.org/2000/svg}svg")
    except (ElementTree.ParseError, LookupError, ValueError):  # not XML, or an encoding we cannot read
        return False
    return False


def _is_mp3(file, head: bytes) -> bool:
    """MPEG audio Layer III: optionally an ID3v2 tag, then two consecutive valid frame headers."""
    start = 0
    if head.startswith(b"ID3") and len(head) >= 10:
        tag_size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]  # "synchsafe": 7 bits a byte
        has_footer = head[5] & 0x10
        start = 10 + tag_size + (10 if has_footer else 0)
    file.seek(start)
    frames = file.read(_HEAD_BYTES)
    first = _mp3_frame_length(frames[:4])
    return first is not None and _mp3_frame_length(frames[first:first + 4]) is not None


_MPEG1_BITRATES_KBPS = (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2_BITRATES_KBPS = (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)  # also MPEG-2.5
_MP3_SAMPLE_RATES = {0b11: (44100, 48000, 32000), 0b10: (22050, 24000, 16000), 0b00: (11025, 12000, 8000)}


def _mp3_frame_length(header: bytes) -> int | None:
    """Byte length of the Layer III frame these 4 bytes start, or None if they are not a frame header."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return None
    version = (header[1] >> 3) & 0b11  # 0b11 MPEG-1, 0b10 MPEG-2, 0b00 MPEG-2.5, 0b01 reserved
    layer = (header[1] >> 1) & 0b11  # 0b01 is Layer III
    bitrate_index = header[2] >> 4
    rate_index = (header[2] >> 2) & 0b11
    if version == 0b01 or layer != 0b01 or bitrate_index in (0, 15) or rate_index == 0b11:
        return None
    mpeg1 = version == 0b11
    bitrate = (_MPEG1_BITRATES_KBPS if mpeg1 else _MPEG2_BITRATES_KBPS)[bitrate_index] * 1000
    sample_rate = _MP3_SAMPLE_RATES[version][rate_index]
    padding = (header[2] >> 1) & 1
    return (144 if mpeg1 else 72) * bitrate // sample_rate + padding


@dataclass
class StagedFile:
    path: Path
    sha256: str  # hex
    size: int
    sniffed: Sniffed


def file_size(size: int | None) -> str:
    """A size in the unit that fits, as people read file sizes: 512 B, 4.4 KB, 23.1 MB, 4 GB (a 4.4 KB PDF must
    not read "0.0 MB", which looks like an empty file). One decimal, none when it is .0."""
    size = size or 0
    for unit, factor in (("GB", GiB), ("MB", MiB), ("KB", 1024)):
        if size >= factor:
            return f"{round(size / factor, 1):g} {unit}"
    return f"{size} B"


def _too_large(limit: int, what: str | None = None) -> ReslibError:
    return ReslibError(_("%(what)s过大，最大允许 %(limit)s", what=what or _("文件"), limit=file_size(limit)),
                       code="too_large", status=413)


def _zip_bomb(message: str | None = None) -> ReslibError:
    return ReslibError(message or _("压缩包解压后过大（疑似压缩炸弹）"), code="zip_bomb", status=413)


def _unsafe_archive() -> ReslibError:
    return ReslibError(_("压缩包中有文件会解压到压缩包之外（绝对路径、“..”或符号链接），请重新打包后上传"),
                       code="unsafe_archive", status=422)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Files kept under ``root/blobs/<sha[:2]>/<sha[2:4]>/<sha>``, arriving through ``root/staging``."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self._staging = self.root / "staging"
        self._blobs = self.root / "blobs"

    # --- uploads ---------------------------------------------------------------------------------

    def stage(self, stream, *, max_bytes: int) -> StagedFile:
        """Copy ``stream`` (anything with ``read(n)``) into a new staging file, then sniff it.

        Refuses (413) as soon as more than ``max_bytes`` arrive; on any failure the staging file is gone.
        """
        path, sha256, size = self._write_staging(stream, max_bytes=max_bytes)
        try:
            return StagedFile(path, sha256, size, sniff(path))
        except BaseException:
            path.unlink(missing_ok=True)
            raise

    def check(self, staged: StagedFile, caps: dict[str, int]) -> None:
        """Refuse a staged file over its kind's cap, an image with too many pixels or a zip bomb.

        Kinds missing from ``caps`` are bounded only by ``stage``'s ``max_bytes``. On a refusal the
        caller discards the staged file.
        """
        kind = staged.sniffed.kind
        cap = caps.get(kind)
        if cap is not None and staged.size > cap:
            raise _too_large(cap, _KIND_LABELS[kind])
        if kind == "image" and staged.sniffed.extension != "svg":  # SVG has no pixel grid
            _check_image(staged.path)
        elif kind in ("archive", "document"):
            _check_zip(staged.path)

    def commit(self, staged: StagedFile) -> str:
        """Move a staged file into its content-addressed place (or drop it if that blob exists)."""
        self._move_into_place(staged.path, staged.sha256)
        return staged.sha256

    def discard(self, staged: StagedFile) -> None:
        staged.path.unlink(missing_ok=True)

    # --- files the worker derives (covers, thumbnails, renditions): trusted, so not sniffed --------

    def put_bytes(self, data: bytes) -> str:
        return self._put(io.BytesIO(data))

    def put_file(self, path) -> str:
        """Store a copy of the file at ``path``; the caller still owns (and removes) the original."""
        with Path(path).open("rb") as file:
            return self._put(file)

    # --- reading and upkeep ----------------------------------------------------------------------

    def path(self, sha: str) -> Path:
        if not isinstance(sha, str) or not _SHA256_HEX.fullmatch(sha):
            raise ValueError(f"not a sha256 hex digest: {sha!r}")
        return self._blobs / sha[:2] / sha[2:4] / sha

    def exists(self, sha: str) -> bool:
        return self.path(sha).is_file()

    def size(self, sha: str) -> int:
        return self.path(sha).stat().st_size

    def verify(self, sha: str) -> bool:
        """Re-hash the blob: False means its bytes no longer match its name."""
        with self.path(sha).open("rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest() == sha

    def iter_blobs(self) -> Iterator[str]:
        """Every stored sha (files elsewhere under ``blobs/`` are not blobs and are skipped)."""
        for path in self._blobs.glob("*/*/*"):
            if _SHA256_HEX.fullmatch(path.name) and path == self.path(path.name):
                yield path.name

    def staging_count(self) -> int:
        """Staging files present now: uploads in progress or leftovers of interrupted ones."""
        return len(list(self._staging.glob("*.part"))) if self._staging.is_dir() else 0

    def sweep_staging(self, older_than_seconds: float = 3600) -> int:
        """Remove staging files not written to for that long (an upload in progress keeps its file fresh)."""
        if not self._staging.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self._staging.glob("*.part"):
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:  # committed or discarded meanwhile
                continue
        return removed

    # --- internals -------------------------------------------------------------------------------

    def _put(self, stream) -> str:
        path, sha256, _size = self._write_staging(stream, max_bytes=None)
        self._move_into_place(path, sha256)
        return sha256

    def _write_staging(self, stream, *, max_bytes: int | None) -> tuple[Path, str, int]:
        """Stream into ``staging/<uuid4>.part`` chunk by chunk, hashing on the way, and fsync it."""
        self._staging.mkdir(parents=True, exist_ok=True)
        path = self._staging / f"{uuid.uuid4()}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            with path.open("xb") as out:
                while chunk := stream.read(CHUNK_SIZE):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise _too_large(max_bytes)
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, digest.hexdigest(), size

    def _move_into_place(self, staged_path: Path, sha256: str) -> None:
        target = self.path(sha256)
        if target.exists():
            staged_path.unlink()
            return
        self._make_dirs(target.parent)
        staged_path.chmod(0o444)
        os.replace(staged_path, target)
        _fsync_dir(target.parent)  # the rename itself must survive a crash too

    def _make_dirs(self, directory: Path) -> None:
        """mkdir -p, fsyncing each parent that gains an entry so the new blob stays reachable after a crash."""
        if directory.is_dir():
            return
        self._make_dirs(directory.parent)
        directory.mkdir(exist_ok=True)
        _fsync_dir(directory.parent)


def _check_image(path: Path) -> None:
    """Refuse an image with too many pixels from its header alone; pixels are never decoded."""
    too_large = ReslibError(
        _("图片尺寸过大：最多 %(n)s 百万像素", n=MAX_IMAGE_PIXELS // 1_000_000), code="image_too_large", status=413
    )
    with warnings.catch_warnings():
        # Pillow warns, then raises, on its own (higher) bomb limit; both mean the same refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                width, height = image.size
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise too_large from None
        except (OSError, ValueError):  # unidentified (an OSError), truncated, or e.g. a zero size
            raise ReslibError(_("无法读取该图片，文件可能已损坏"), code="unreadable_file") from None
    if width * height > MAX_IMAGE_PIXELS:
        raise too_large


def _check_zip(path: Path) -> None:
    """Judge a zip from its central directory alone: declared sizes, ratios and names; nothing is inflated."""
    members = _zip_members(path)
    _refuse_bombs(members)
    for member in members:
        if member.filename.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
            raise _zip_bomb(_("压缩包内不能再包含压缩包"))
        if _escapes(member):
            raise _unsafe_archive()


def check_zip_bomb(source, max_unzipped: int | None = None) -> None:
    """Refuse a zip (at a path, or in a binary file) whose central directory declares a bomb, or more than
    ``max_unzipped`` bytes (MAX_UNZIPPED_BYTES unless given), before a library inflates it: an imported XLSX, say, which openpyxl would inflate
    whole. Anything else wrong with it (not a zip at all, damaged) is left for its reader to report."""
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, NotImplementedError, ValueError):
        return
    _refuse_bombs(members, max_unzipped)


def _refuse_bombs(members: list[zipfile.ZipInfo], max_unzipped: int | None = None) -> None:
    max_unzipped = MAX_UNZIPPED_BYTES if max_unzipped is None else max_unzipped
    if len(members) > MAX_ZIP_MEMBERS:
        raise _zip_bomb(_("压缩包内文件过多：最多 %(n)s 个", n=MAX_ZIP_MEMBERS))
    if sum(member.file_size for member in members) > max_unzipped:
        raise _zip_bomb()
    for member in members:
        if member.file_size > ZIP_RATIO_MIN_BYTES and member.file_size > MAX_ZIP_RATIO * member.compress_size:
            raise _zip_bomb()


_DRIVE = re.compile(r"[A-Za-z]:")


def _escapes(member: zipfile.ZipInfo) -> bool:
    """Whether unpacking the member (a courseware package, on a teacher's or pupil's computer) could write or
    link outside the folder it is unpacked into: an absolute or drive path, a ".." step (with either slash,
    as Windows tools read both), or a symbolic link, whose target may be anywhere."""
    name = member.filename.replace("\\", "/")
    return (name.startswith("/") or _DRIVE.match(name) is not None or ".." in name.split("/")
            or stat.S_ISLNK(member.external_attr >> 16))
