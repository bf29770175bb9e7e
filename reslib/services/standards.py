"""The national technical standard for video and audio resources, clause by clause, over a Probe."""
from dataclasses import dataclass

from reslib.messages import N_, translated
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
UNKNOWN = N_("未知")
CHANNEL_LABELS = {1: N_("单声道"), 2: N_("立体声")}


@dataclass(frozen=True)
class Finding:
    check: str
    ok: bool
    message: str  # as in the catalogue (Chinese), with a %(name)s for each of the values
    values: tuple = ()  # (name, value) pairs: a finding stays hashable, and JSON keeps it

    def text(self) -> str:
        """The message in the reader's language, with its values."""
        return translated(self.message, self.values)

    @classmethod
    def from_dict(cls, stored: dict) -> "Finding":
        """A finding as ``dataclasses.asdict`` stored it in JSON (one stored before findings kept their values
        has its Chinese text as the message, and none)."""
        return cls(stored["check"], stored["ok"], stored["message"], tuple(map(tuple, stored.get("values", ()))))


def technical_findings(kind: str, probe: Probe) -> list[Finding]:
    if kind == "video":
        return _video_findings(probe)
    if kind == "audio":
        return _audio_findings(probe)
    return []


def _video_findings(probe: Probe) -> list[Finding]:
    findings = [
        _clause("video.container", probe.container == VIDEO_CONTAINER, N_("封装格式 %(found)s 符合"),
                N_("封装格式 %(found)s，应为 %(wanted)s"), found=probe.container or UNKNOWN, wanted=VIDEO_CONTAINER),
        _clause("video.codec", probe.video_codec == VIDEO_CODEC, N_("视频编码 %(found)s 符合"),
                N_("视频编码 %(found)s，应为 %(wanted)s"), found=_codec(probe.video_codec), wanted=_codec(VIDEO_CODEC)),
    ]
    if probe.audio_codec is None:
        findings.append(Finding("video.audio_codec", True, N_("无音轨，不检查音频编码")))
    else:
        findings.append(_clause("video.audio_codec", probe.audio_codec == VIDEO_AUDIO_CODEC, N_("音频编码 %(found)s 符合"),
                                N_("音频编码 %(found)s，应为 %(wanted)s"), found=_codec(probe.audio_codec),
                                wanted=_codec(VIDEO_AUDIO_CODEC)))

    if probe.width and probe.height:
        long_side, short_side = max(probe.width, probe.height), min(probe.width, probe.height)
        findings.append(_clause("video.resolution", long_side >= MIN_LONG_SIDE and short_side >= MIN_SHORT_SIDE,
                                N_("分辨率 %(found)s 符合"), N_("分辨率 %(found)s 低于 %(wanted)s"),
                                found=f"{probe.width}×{probe.height}", wanted=f"{MIN_LONG_SIDE}×{MIN_SHORT_SIDE}"))
    else:
        findings.append(Finding("video.resolution", False, N_("分辨率 未知")))

    if probe.fps:
        findings.append(_clause("video.fps", round(probe.fps, 2) >= MIN_FPS, N_("帧率 %(found)s fps 符合"),
                                N_("帧率 %(found)s fps 低于 %(wanted)s fps"), found=_number(probe.fps), wanted=MIN_FPS))
    else:
        findings.append(Finding("video.fps", False, N_("帧率 未知")))

    if probe.bit_rate:
        findings.append(_clause("video.bit_rate", probe.bit_rate >= MIN_BIT_RATE, N_("平均码率 %(found)s Mbps 符合"),
                                N_("平均码率 %(found)s Mbps 低于 %(wanted)s Mbps"),
                                found=_number(probe.bit_rate / 1e6), wanted=_number(MIN_BIT_RATE / 1e6)))
    else:
        findings.append(Finding("video.bit_rate", False, N_("平均码率 未知")))
    return findings


def _audio_findings(probe: Probe) -> list[Finding]:
    # The mp3 demuxer also reads MPEG layer 2; then the codec is the telling name.
    shown_format = probe.audio_codec if probe.container == AUDIO_FORMAT else probe.container
    findings = [
        _clause("audio.format", probe.container == AUDIO_FORMAT and probe.audio_codec == AUDIO_FORMAT,
                N_("音频格式 %(found)s 符合"), N_("音频格式 %(found)s，应为 %(wanted)s"),
                found=shown_format or UNKNOWN, wanted=AUDIO_FORMAT),
    ]

    if probe.sample_rate:
        findings.append(_clause("audio.sample_rate", probe.sample_rate >= MIN_SAMPLE_RATE, N_("采样率 %(found)s kHz 符合"),
                                N_("采样率 %(found)s kHz 低于 %(wanted)s kHz"),
                                found=_number(probe.sample_rate / 1000), wanted=_number(MIN_SAMPLE_RATE / 1000)))
    else:
        findings.append(Finding("audio.sample_rate", False, N_("采样率 未知")))

    if probe.bit_depth is None:  # lossy codecs (mp3, AAC) store no sample depth
        findings.append(Finding("audio.bit_depth", True, N_("位深 不适用（有损编码）")))
    else:
        findings.append(_clause("audio.bit_depth", probe.bit_depth == AUDIO_BIT_DEPTH, N_("位深 %(found)s bit 符合"),
                                N_("位深 %(found)s bit，应为 %(wanted)s bit"), found=probe.bit_depth,
                                wanted=AUDIO_BIT_DEPTH))

    if probe.channels:
        findings.append(_clause("audio.channels", probe.channels == AUDIO_CHANNELS, N_("声道 %(found)s 符合"),
                                N_("声道 %(found)s，应为%(wanted)s"),
                                found=CHANNEL_LABELS.get(probe.channels, str(probe.channels)),
                                wanted=CHANNEL_LABELS[AUDIO_CHANNELS]))
    else:
        findings.append(Finding("audio.channels", False, N_("声道 未知")))
    return findings


def _clause(check: str, ok: bool, passed: str, failed: str, **values) -> Finding:
    """E.g. 分辨率 1280×720 符合 when it passes, 分辨率 960×540 低于 1280×720 when not."""
    return Finding(check, ok, passed if ok else failed, tuple(values.items()))


def _codec(name: str | None) -> str:
    return CODEC_LABELS.get(name, name) if name else UNKNOWN


def _number(value: float) -> str:
    return f"{round(value, 2):g}"
