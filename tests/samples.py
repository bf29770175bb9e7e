"""Test media made on the spot: FFmpeg's lavfi test sources, reportlab, Pillow and zxing-cpp.

lavfi is an FFmpeg input that generates pictures and sound; it is fine here because these
commands are ours, never an upload's.
"""
import struct
import subprocess
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


def make_hls_in_avi(path, canary_file, canary_url) -> Path:
    """The classic FFmpeg file-disclosure/SSRF shape (2017): an AVI whose subtitle stream holds a
    GAB2 chunk, and that chunk is an HLS playlist pointing at a local file and a URL. An FFmpeg
    that hands the chunk to whatever demuxer it looks like follows the playlist."""
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

    frame_us, frames, width, height = 40_000, 1, 320, 240
    main_header = struct.pack("<10I16x", frame_us, 0, 0, 0, frames, 0, 1, 0, width, height)
    # stream header: a text stream ("txts") with no codec tag, one frame at 25/s
    stream_header = struct.pack("<4s4sIHHIIIIIIII4h", b"txts", b"\x00" * 4, 0, 0, 0, 0, 1, 25, 0, frames,
                                len(gab2), 0, 0, 0, 0, width, height)
    header = riff_list(b"hdrl", chunk(b"avih", main_header),
                       riff_list(b"strl", chunk(b"strh", stream_header), chunk(b"strf", b"\x00" * 4)))
    movie = riff_list(b"movi", chunk(b"00tx", gab2))
    Path(path).write_bytes(chunk(b"RIFF", b"AVI " + header + movie))
    return Path(path)
