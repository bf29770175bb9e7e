"""The national technical standard for video and audio resources, clause by clause, over a Probe."""
from dataclasses import dataclass

from reslib.services.media import Probe

VIDEO_CONTAINER = "mp4"
VIDEO_CODEC = "h264"
VIDEO_AUDIO_CODEC = "aac"
MIN_LONG_SIDE, MIN_SHORT_SIDE = 1280, 720  # 1280×720, upright (portrait) clips included
MIN_FPS = 25
MIN_BIT_RATE = 2_000_000  # bits per second, the file's average
AUDIO_FORMAT = "mp3"
MIN_SAMPLE_RATE = 44_100
AUDIO_BIT_DEPTH = 16
AUDIO_CHANNELS = 2

CODEC_LABELS = {"h264": "H.264", "aac": "AAC"}
CHANNEL_LABELS = {1: "单声道", 2: "立体声"}


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str


def technical_findings(kind: str, probe: Probe) -> list[Finding]:
    if kind == "video":
        return _video_findings(probe)
    if kind == "audio":
        return _audio_findings(probe)
    return []


def _video_findings(probe: Probe) -> list[Finding]:
    findings = [
        _clause("video.container", probe.container == VIDEO_CONTAINER,
                f"封装格式 {probe.container or '未知'}", f"应为 {VIDEO_CONTAINER}"),
        _clause("video.codec", probe.video_codec == VIDEO_CODEC,
                f"视频编码 {_codec(probe.video_codec)}", f"应为 {_codec(VIDEO_CODEC)}"),
    ]
    if probe.audio_codec is None:
        findings.append(Finding("video.audio_codec", True, "无音轨，不检查音频编码"))
    else:
        findings.append(_clause("video.audio_codec", probe.audio_codec == VIDEO_AUDIO_CODEC,
                                f"音频编码 {_codec(probe.audio_codec)}", f"应为 {_codec(VIDEO_AUDIO_CODEC)}"))

    if probe.width and probe.height:
        long_side, short_side = max(probe.width, probe.height), min(probe.width, probe.height)
        findings.append(_clause("video.resolution", long_side >= MIN_LONG_SIDE and short_side >= MIN_SHORT_SIDE,
                                f"分辨率 {probe.width}×{probe.height}", f"低于 {MIN_LONG_SIDE}×{MIN_SHORT_SIDE}"))
    else:
        findings.append(Finding("video.resolution", False, "分辨率 未知"))

    if probe.fps:
        findings.append(_clause("video.fps", round(probe.fps, 2) >= MIN_FPS,
                                f"帧率 {_number(probe.fps)} fps", f"低于 {MIN_FPS} fps"))
    else:
        findings.append(Finding("video.fps", False, "帧率 未知"))

    if probe.bit_rate:
        findings.append(_clause("video.bit_rate", probe.bit_rate >= MIN_BIT_RATE,
                                f"平均码率 {_number(probe.bit_rate / 1e6)} Mbps",
                                f"低于 {_number(MIN_BIT_RATE / 1e6)} Mbps"))
    else:
        findings.append(Finding("video.bit_rate", False, "平均码率 未知"))
    return findings


def _audio_findings(probe: Probe) -> list[Finding]:
    # The mp3 demuxer also reads MPEG layer 2; then the codec is the telling name.
    shown_format = probe.audio_codec if probe.container == AUDIO_FORMAT else probe.container
    findings = [
        _clause("audio.format", probe.container == AUDIO_FORMAT and probe.audio_codec == AUDIO_FORMAT,
                f"音频格式 {shown_format or '未知'}", f"应为 {AUDIO_FORMAT}"),
    ]

    if probe.sample_rate:
        findings.append(_clause("audio.sample_rate", probe.sample_rate >= MIN_SAMPLE_RATE,
                                f"采样率 {_number(probe.sample_rate / 1000)} kHz",
                                f"低于 {_number(MIN_SAMPLE_RATE / 1000)} kHz"))
    else:
        findings.append(Finding("audio.sample_rate", False, "采样率 未知"))

    if probe.bit_depth is None:  # lossy codecs (mp3, AAC) store no sample depth
        findings.append(Finding("audio.bit_depth", True, "位深 不适用（有损编码）"))
    else:
        findings.append(_clause("audio.bit_depth", probe.bit_depth == AUDIO_BIT_DEPTH,
                                f"位深 {probe.bit_depth} bit", f"应为 {AUDIO_BIT_DEPTH} bit"))

    if probe.channels:
        findings.append(_clause("audio.channels", probe.channels == AUDIO_CHANNELS,
                                f"声道 {_channels(probe.channels)}", f"应为{_channels(AUDIO_CHANNELS)}"))
    else:
        findings.append(Finding("audio.channels", False, "声道 未知"))
    return findings


def _clause(check: str, ok: bool, measured: str, requirement: str) -> Finding:
    """E.g. 分辨率 1280×720 符合 when it passes, 分辨率 960×540 低于 1280×720 when not."""
    if ok:
        return Finding(check, True, f"{measured} 符合")
    separator = "，" if requirement.startswith("应为") else " "
    return Finding(check, False, f"{measured}{separator}{requirement}")


def _codec(name: str | None) -> str:
    return CODEC_LABELS.get(name, name) if name else "未知"


def _channels(count: int) -> str:
    return CHANNEL_LABELS.get(count, f"{count} 声道")


def _number(value: float) -> str:
    return f"{round(value, 2):g}"
