"""Test media made on the spot: FFmpeg's lavfi test sources, reportlab, Pillow and zxing-cpp; and hostile
files (bomb headers, crafted zips, a playlist hidden in an AVI) written byte by byte.

lavfi is an FFmpeg input that generates pictures and sound; it is fine here because these
commands are ours, never an upload's.
"""
import functools
import io
import stat
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path

import zxingcpp
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from reslib.services.media import ffmpeg_binary

CJK_FONT = "STSong-Light"


def run_ffmpeg(*args: str) -> None:
    subprocess.run(
        [ffmpeg_binary(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
        check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
    )


def make_video(path, *, width=1280, height=720, fps=25, seconds=1, vcodec="libx264", acodec="aac",
               container="mp4", bitrate="2500k", audio=True) -> Path:
    """A test-pattern clip with a 440 Hz tone; ``container`` is an FFmpeg muxer (mp4, webm, matroska, avi …)."""
    args = ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={fps}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                 "-c:a", acodec, "-ac", "2"]
    else:
        args += ["-an"]
    run_ffmpeg(*args, "-c:v", vcodec, "-b:v", bitrate, "-pix_fmt", "yuv420p", "-f", container, str(path))
    return Path(path)


def make_audio(path, *, rate=44100, channels=2, codec="libmp3lame", seconds=1) -> Path:
    """A 440 Hz tone; the container follows the file name's extension (.mp3, .wav, .m4a …)."""
    run_ffmpeg("-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds}",
               "-ar", str(rate), "-ac", str(channels), "-c:a", codec, str(path))
    return Path(path)


def make_pdf(path, pages=2, text="区级数字化教学资源库 测试文档", *, images=None) -> Path:
    """A4 pages with Chinese text; ``text`` is one string for every page or one per page;
    ``images`` maps a page number (from 1) to a PIL image drawn on that page."""
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    texts = [text] * pages if isinstance(text, str) else list(text)
    document = canvas.Canvas(str(path))
    for number in range(1, pages + 1):
        document.setFont(CJK_FONT, 16)
        document.drawString(72, 760, f"第 {number} 页")
        document.drawString(72, 730, texts[number - 1])
        if images and number in images:
            document.drawImage(ImageReader(images[number]), 72, 400, width=200, height=200)
        document.showPage()
    document.save()
    return Path(path)


def make_qr_image(path_or_none, text: str, *, scale=8) -> Image.Image:
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode)
    pixels = memoryview(barcode.to_image(scale=scale))  # 8-bit grey, with the quiet zone
    image = Image.frombytes("L", (pixels.shape[1], pixels.shape[0]), pixels.tobytes())
    if path_or_none is not None:
        image.save(path_or_none)
    return image


def make_truncated_mp4(src, dest) -> Path:
    """The first half of ``src``: an upload cut off mid-way."""
    data = Path(src).read_bytes()
    Path(dest).write_bytes(data[: len(data) // 2])
    return Path(dest)


def make_hls_in_avi(path, canary_file, canary_url, *, frame: Image.Image | None = None, frames: int = 5) -> Path:
    """The classic FFmpeg file-disclosure/SSRF shape (2017): an AVI whose subtitle stream holds a
    GAB2 chunk, and that chunk is an HLS playlist pointing at a local file and a URL. An FFmpeg
    that hands the chunk to whatever demuxer it looks like follows the playlist.

    With ``frame``, the AVI also carries a real video stream (``frames`` MJPEG frames of that picture),
    so it gets through probing into every later step: cover, rendition and the scan of frames."""
    playlist = (
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-TARGETDURATION:1\n"
        f"#EXTINF:1.0,\nfile://{Path(canary_file).resolve()}\n"
        f"#EXTINF:1.0,\n{canary_url}\n"
        "#EXT-X-ENDLIST\n"
    ).encode()
    # GAB2: magic, version 2, empty UTF-16 title, then (type, size, data)
    gab2 = b"GAB2\x00" + struct.pack("<HIHI", 2, 0, 4, len(playlist)) + playlist

    def chunk(tag: bytes, data: bytes) -> bytes:
        return tag + struct.pack("<I", len(data)) + data + b"\x00" * (len(data) % 2)

    def riff_list(kind: bytes, *chunks: bytes) -> bytes:
        return chunk(b"LIST", kind + b"".join(chunks))

    def stream_header(kind: bytes, handler: bytes, length: int, buffer: int) -> bytes:
        # fccType, fccHandler, flags, priority, language, initial frames, scale, rate (25/s), start,
        # length, suggested buffer, quality, sample size, frame rectangle
        return struct.pack("<4s4sIHHIIIIIIII4h", kind, handler, 0, 0, 0, 0, 1, 25, 0, length, buffer, 0, 0,
                           0, 0, width, height)

    width, height = frame.size if frame is not None else (320, 240)
    streams, movie_chunks = [], []
    if frame is not None:
        jpeg = io.BytesIO()
        frame.convert("RGB").save(jpeg, "JPEG")
        bitmap = struct.pack("<IiiHH4sIiiII", 40, width, height, 1, 24, b"MJPG", width * height * 3, 0, 0, 0, 0)
        streams.append(riff_list(b"strl", chunk(b"strh", stream_header(b"vids", b"MJPG", frames, len(jpeg.getvalue()))),
                                 chunk(b"strf", bitmap)))
        movie_chunks += [chunk(b"00dc", jpeg.getvalue())] * frames
    text_number = len(streams)
    # a text stream ("txts") with no codec tag, one frame
    streams.append(riff_list(b"strl", chunk(b"strh", stream_header(b"txts", b"\x00" * 4, 1, len(gab2))),
                             chunk(b"strf", b"\x00" * 4)))
    movie_chunks.insert(0, chunk(b"%02dtx" % text_number, gab2))
    main_header = struct.pack("<10I16x", 40_000, 0, 0, 0, frames if frame is not None else 1, 0, len(streams), 0,
                              width, height)
    header = riff_list(b"hdrl", chunk(b"avih", main_header), *streams)
    movie = riff_list(b"movi", *movie_chunks)
    Path(path).write_bytes(chunk(b"RIFF", b"AVI " + header + movie))
    return Path(path)


# --- bombs and crafted archives ------------------------------------------------------------------

MiB = 1024 * 1024


def image_claiming(format: str, width: int, height: int) -> bytes:
    """A tiny PNG, JPEG or GIF whose header claims ``width`` × ``height`` pixels: a decompression bomb's
    header, without the pixels (a decoder trusting it would allocate them all)."""
    if format == "PNG":
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(bytes(64))) + chunk(b"IEND", b""))
    if format == "JPEG":
        small = io.BytesIO()
        Image.new("RGB", (16, 16), "grey").save(small, "JPEG")
        data = bytearray(small.getvalue())
        frame = data.index(b"\xff\xc0")  # baseline frame header: length, precision, then height and width
        data[frame + 5:frame + 9] = struct.pack(">HH", height, width)
        return bytes(data)
    if format == "GIF":
        screen = struct.pack("<HH", width, height)
        image = b"," + struct.pack("<HH", 0, 0) + screen + b"\x00" + b"\x02\x02\x44\x01\x00"  # descriptor, a few pixels
        return b"GIF89a" + screen + b"\x00\x00\x00" + image + b";"
    raise ValueError(format)


@functools.cache
def deflated_repeat(byte: bytes, mib: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``mib`` MiB of ``byte`` (about 1 KB a MiB) and the CRC-32 of what it inflates
    to, made by compressing one MiB only: after a full flush deflate starts afresh, so that block repeats."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = byte * MiB
    block = compressor.compress(piece) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(piece, crc)
    return block * mib + b"\x03\x00", crc  # then an empty final block


@dataclass(frozen=True)
class ZipMember:
    name: str
    data: bytes = b""
    inflates_to: tuple[bytes, int] | None = None  # (byte, MiB): deflated_repeat's output instead of data
    symlink: bool = False  # data is the link's target, as zip tools store it
    shares_data_of: int | None = None  # an earlier member's index: its central entry points at that member's data


def raw_zip(members: list[ZipMember]) -> bytes:
    """A zip written byte by byte, so that it can hold what zip libraries will not write: members of
    gigabytes never compressed here, symlinks, any name at all, and entries sharing one member's data
    (the "overlapping" bomb). Plain members are deflated; sizes stay under zip64's 4 GiB."""
    body, central, placed = bytearray(), bytearray(), []
    for member in members:
        name = member.name.encode()
        if member.inflates_to is not None:
            byte, mib = member.inflates_to
            data, crc = deflated_repeat(byte, mib)
            size = mib * MiB
        else:
            compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
            data = compressor.compress(member.data) + compressor.flush()
            crc, size = zlib.crc32(member.data), len(member.data)
        if member.shares_data_of is not None:
            offset, data, crc, size = placed[member.shares_data_of]
        else:
            offset = len(body)
            body += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0x800, 8, 0, 0x21, crc, len(data), size,
                                len(name), 0) + name + data
        placed.append((offset, data, crc, size))
        mode = (stat.S_IFLNK | 0o777) if member.symlink else (stat.S_IFREG | 0o644)
        # made by Unix (3) so that the mode in the external attributes counts
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 20, 0x800, 8, 0, 0x21, crc, len(data), size,
                               len(name), 0, 0, 0, 0, mode << 16, offset) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0)
    return bytes(body + central + end)
