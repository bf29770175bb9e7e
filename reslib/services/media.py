"""Media primitives for the background worker: probe, cover, thumbnail and web rendition.

Everything here reads untrusted uploads. FFmpeg (in-process through PyAV, or the command-line
tool for renditions) only ever reads the local file itself, through one of the plain container
demuxers in DEMUXERS: never a playlist (hls, concat), an image sequence, a device or the network,
which is how a crafted "video" makes FFmpeg read other files or fetch URLs.
"""
import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import av
import av.logging
import ffmpeg
import filetype
import imageio_ffmpeg
import pypdfium2 as pdfium
from PIL import Image, ImageOps, UnidentifiedImageError

from reslib.messages import N_

# Plain container demuxers; "mov" also covers mp4/m4a/3gp, "matroska" also webm.
DEMUXERS = ("mov", "matroska", "avi", "flv", "mpegts", "mp3", "wav", "aac", "ogg", "flac", "asf")
FORMAT_WHITELIST = ",".join(DEMUXERS)
OPEN_OPTIONS = {"protocol_whitelist": "file", "format_whitelist": FORMAT_WHITELIST}

# Probe.container names that are not a demuxer's own name.
CONTAINER_DEMUXERS = {"mp4": "mov", "mov": "mov", "m4a": "mov", "webm": "matroska", "mkv": "matroska"}

COVER_MAX_SIDE = 1280
COVER_AT = 0.1  # a frame at 10% of the video: past black openings and title fades
COVER_AT_UNKNOWN_DURATION = 1.0
RENDITION_TIMEOUT = 3 * 3600

UNREADABLE = {
    "video": N_("视频文件不完整、已损坏或格式不受支持，无法读取（%(detail)s）"),
    "audio": N_("音频文件不完整、已损坏或格式不受支持，无法读取（%(detail)s）"),
    "pdf": N_("PDF 文件不完整、已损坏或格式不受支持，无法读取（%(detail)s）"),
    "image": N_("图片文件不完整、已损坏或格式不受支持，无法读取（%(detail)s）"),
}
DETAIL_MAX = 300  # characters of a decoder's own explanation kept in a reason


class MediaError(Exception):
    """A file the worker cannot read or convert. The uploader is shown ``message`` (as in the catalogue) with
    ``values``, in their language; ``reason`` is the Chinese text, for logs and tests."""

    def __init__(self, message: str, **values):
        values = {name: str(value)[:DETAIL_MAX] if name == "detail" else value for name, value in values.items()}
        self.message, self.values = message, values
        self.reason = message % values if values else message
        super().__init__(self.reason)


@functools.cache
def ffmpeg_binary() -> str:
    return shutil.which("ffmpeg") or imageio_ffmpeg.get_ffmpeg_exe()


@dataclass
class Probe:
    container: str
    duration: float | None = None  # seconds
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bit_rate: int | None = None  # bits per second, the whole file's average
    video_bit_rate: int | None = None
    audio_bit_rate: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_depth: int | None = None  # lossless audio only; lossy codecs have none
    page_count: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Probe":
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})


def probe(path, kind: str) -> Probe:
    """Measure a file. Kinds other than video, audio, pdf and image (documents, archives) get a
    minimal Probe naming only the container, as far as the content tells."""
    if kind in ("video", "audio"):
        return _probe_av(path, kind)
    if kind == "pdf":
        with _open_pdf(path) as pdf:
            return Probe(container="pdf", page_count=len(pdf))
    if kind == "image":
        with _open_image(path) as image:
            return Probe(container=(image.format or "").lower(), width=image.width, height=image.height)
    return Probe(container=filetype.guess_extension(str(path)) or "")


def make_cover(path, kind: str, probe: Probe, dest_jpg) -> bool:
    """Write a JPEG cover (at most COVER_MAX_SIDE px on the long side); False when the kind has none."""
    if kind == "video":
        at = probe.duration * COVER_AT if probe.duration else COVER_AT_UNKNOWN_DURATION
        image = video_frames(path, [at])[0]
    elif kind == "pdf":
        image = pdf_pages(path, 1, COVER_MAX_SIDE)[0][0]
    elif kind == "image":
        image = load_image(path)
    else:
        return False
    image.thumbnail((COVER_MAX_SIDE, COVER_MAX_SIDE))
    image.save(dest_jpg, "JPEG", quality=85)
    return True


def make_thumbnail(cover_jpg, dest_jpg, size=(480, 270)) -> None:
    """Exactly ``size``: scaled to fill and centre-cropped (top-aligned, so a portrait page keeps its title)."""
    with Image.open(cover_jpg) as cover:
        ImageOps.fit(cover.convert("RGB"), size, centering=(0.5, 0.0)).save(dest_jpg, "JPEG", quality=85)


def load_image(path) -> Image.Image:
    """An uploaded image as RGB: first frame, turned upright by its EXIF orientation, transparency on white."""
    with _open_image(path) as image:
        try:
            upright = ImageOps.exif_transpose(image)
            if upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info:
                rgba = upright.convert("RGBA")
                flat = Image.new("RGB", rgba.size, "white")
                flat.paste(rgba, mask=rgba.getchannel("A"))
                return flat
            return upright.convert("RGB")
        except (OSError, ValueError) as error:
            raise MediaError(N_("图片文件已损坏，无法读取（%(detail)s）"), detail=error) from error


def video_frames(path, at_seconds: list[float]) -> list[Image.Image]:
    """Decode one frame at (or just after) each time from the start; past the end, the last frame."""
    images = []
    with _open_av(path, "video") as container:
        stream = _video_stream(container)
        if stream is None:
            raise MediaError(N_("视频文件中没有画面"))
        start = (container.start_time or 0) / av.time_base  # e.g. MPEG-TS clocks rarely start at 0
        try:
            for at in at_seconds:
                frame = _frame_at(container, stream, start + at)
                if frame is None:
                    raise MediaError(N_("视频文件中没有可解码的画面"))
                images.append(frame.to_image())
        except av.FFmpegError as error:
            raise _av_error("video", error) from error
    return images


def _frame_at(container, stream, at: float):
    # A seek lands on a keyframe before `at` where the container has an index (mp4, mkv); in one
    # without (MPEG-TS) it may land where nothing decodes: then read on from the beginning.
    for seek_to in (at, 0):
        container.seek(int(seek_to * av.time_base))
        frame = None
        for frame in container.decode(stream):
            if frame.time is None or frame.time >= at:
                break
        if frame is not None:
            return frame
    return None


def pdf_pages(path, count: int, max_side: int) -> list[tuple[Image.Image, str]]:
    """The first ``count`` pages, each rendered (long side ``max_side`` px) with its text."""
    pages = []
    with _open_pdf(path) as pdf:
        if len(pdf) == 0:
            raise MediaError(N_("PDF 文件没有页面"))
        for index in range(min(count, len(pdf))):
            try:
                page = pdf[index]
                width, height = page.get_size()
                image = page.render(scale=max_side / max(width, height, 1)).to_pil()
                text = page.get_textpage().get_text_range()
            except pdfium.PdfiumError as error:
                raise MediaError(N_("PDF 第 %(page)s 页无法显示（%(detail)s）"), page=index + 1, detail=error) from error
            pages.append((image.convert("RGB"), text))
    return pages


def rendition_target(kind: str, probe: Probe) -> str | None:
    """The format to convert to so current Chrome, Firefox and Edge can all play the file, or None."""
    if kind == "video":
        plays = (
            probe.container in ("mp4", "mov")
            and probe.video_codec == "h264"
            and probe.audio_codec in (None, "aac", "mp3")
        )
        return None if plays else "mp4"
    if kind == "audio":
        plays = (probe.container == "mp3" and probe.audio_codec == "mp3") or (
            probe.container in ("mp4", "m4a") and probe.audio_codec == "aac"
        )
        return None if plays else "mp3"
    return None


def rendition_args(path, dest, target: str, probe: Probe) -> list[str]:
    """The ffmpeg command line: local file only, demuxer forced from the probe, no stdin."""
    demuxer = CONTAINER_DEMUXERS.get(probe.container, probe.container)
    if demuxer not in DEMUXERS:
        raise MediaError(N_("不支持转换此封装格式（%(container)s）"), container=probe.container)
    source = ffmpeg.input(str(path), f=demuxer, protocol_whitelist="file", format_whitelist=FORMAT_WHITELIST)
    if target == "mp4":
        output = source.output(
            str(dest), f="mp4", vcodec="libx264", preset="veryfast", crf=23, pix_fmt="yuv420p",
            vf="scale=trunc(iw/2)*2:trunc(ih/2)*2",  # H.264 in 4:2:0 needs even dimensions
            acodec="aac", movflags="+faststart",
        )
    elif target == "mp3":
        output = source.output(str(dest), f="mp3", vn=None, acodec="libmp3lame", ar=44100, ac=2, audio_bitrate="128k")
    else:
        raise ValueError(f"unknown rendition target {target!r}")
    output = output.global_args("-nostdin", "-hide_banner", "-loglevel", "error")
    return output.compile(cmd=ffmpeg_binary(), overwrite_output=True)


def make_rendition(path, dest, target: str, probe: Probe, *, timeout: float = RENDITION_TIMEOUT) -> None:
    """Convert to ``target`` ("mp4" or "mp3"); ``dest`` appears only when the conversion succeeded."""
    dest = Path(dest)
    fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        args = rendition_args(path, temp, target, probe)
        try:
            result = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise MediaError(N_("转码超时（超过 %(seconds)s 秒），已放弃"), seconds=f"{timeout:g}") from error
        if result.returncode != 0:
            lines = result.stderr.decode("utf-8", "replace").strip().splitlines()
            if not lines:
                raise MediaError(N_("转码失败（ffmpeg 退出码 %(code)s）"), code=result.returncode)
            raise MediaError(N_("转码失败（%(detail)s）"), detail=lines[-1])
        os.replace(temp, dest)
    finally:
        Path(temp).unlink(missing_ok=True)


def _probe_av(path, kind: str) -> Probe:
    with _open_av(path, kind) as container:
        audio = next(iter(container.streams.audio), None)
        video = _video_stream(container) if kind == "video" else None
        if kind == "video" and video is None:
            raise MediaError(N_("视频文件中没有画面"))
        if kind == "audio" and audio is None:
            raise MediaError(N_("音频文件中没有声音"))
        result = Probe(
            container=_container_name(path, container),
            duration=container.duration / av.time_base if container.duration else None,
            bit_rate=container.bit_rate or None,
        )
        if video is not None:
            rate = video.average_rate or video.guessed_rate
            result.width = video.codec_context.width or None
            result.height = video.codec_context.height or None
            result.fps = float(rate) if rate else None
            result.video_codec = _codec_name(video)
            result.video_bit_rate = video.bit_rate or None
        if audio is not None:
            context = audio.codec_context
            result.audio_codec = _codec_name(audio)
            result.audio_bit_rate = audio.bit_rate or None
            result.sample_rate = context.sample_rate or None
            result.channels = context.layout.nb_channels or None
            if context.codec is not None and context.codec.lossless and context.format is not None:
                result.bit_depth = context.format.bits
        return result


def _open_av(path, kind: str):
    # PyAV leaves FFmpeg's log off unless asked; with errors on, its exceptions carry FFmpeg's
    # own explanation ("moov atom not found"), which makes the reason useful to the uploader.
    if av.logging.get_level() is None:
        av.logging.set_level(av.logging.ERROR)
    try:
        return av.open(str(path), container_options=OPEN_OPTIONS)
    except av.FFmpegError as error:
        raise _av_error(kind, error) from error


def _av_error(kind: str, error: av.FFmpegError) -> MediaError:
    detail = error.log[2].strip() if error.log else error.strerror
    return MediaError(UNREADABLE[kind], detail=detail)


def _video_stream(container):
    # An embedded album cover or poster is a one-picture "video" stream; it is not the video.
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def _codec_name(stream) -> str | None:
    codec = stream.codec_context.codec
    return codec.canonical_name if codec is not None else None


def _container_name(path, container) -> str:
    demuxer = container.format.name.split(",")[0]
    if demuxer == "mov":
        brand = container.metadata.get("major_brand", "").strip()
        return {"qt": "mov", "M4A": "m4a"}.get(brand, "mp4")
    if demuxer == "matroska":  # the demuxer does not say which; the EBML DocType does
        return "webm" if filetype.guess_extension(str(path)) == "webm" else "mkv"
    return demuxer


def _open_pdf(path) -> pdfium.PdfDocument:
    try:
        return pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as error:
        raise MediaError(N_("PDF 文件已损坏或已加密，无法读取（%(detail)s）"), detail=error) from error


def _open_image(path) -> Image.Image:
    try:
        return Image.open(path)
    except UnidentifiedImageError as error:  # its own words name the stored file's path on the server
        raise MediaError(N_("图片文件已损坏或格式不受支持，无法读取（%(detail)s）"),
                         detail="cannot identify image file") from error
    except (OSError, Image.DecompressionBombError) as error:
        raise MediaError(N_("图片文件已损坏或格式不受支持，无法读取（%(detail)s）"), detail=error) from error
