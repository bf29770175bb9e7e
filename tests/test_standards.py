import pytest
from samples import make_audio, make_video

from reslib.services.media import Probe, probe
from reslib.services.standards import technical_findings


def failures(findings):
    return {finding.check: finding.text() for finding in findings if not finding.ok}


def passes(findings):
    return {finding.check: finding.text() for finding in findings if finding.ok}


def test_compliant_video_passes_every_clause(tmp_path):
    clip = make_video(tmp_path / "ok.mp4")
    findings = technical_findings("video", probe(clip, "video"))
    assert [finding.check for finding in findings] == [
        "video.container", "video.codec", "video.audio_codec", "video.resolution", "video.fps", "video.bit_rate"]
    assert all(finding.ok for finding in findings), findings
    assert passes(findings)["video.resolution"] == "分辨率 1280×720 符合"
    assert passes(findings)["video.fps"] == "帧率 25 fps 符合"


def test_small_slow_video_fails_resolution_and_frame_rate(tmp_path):
    clip = make_video(tmp_path / "small.mp4", width=640, height=360, fps=15)
    found = failures(technical_findings("video", probe(clip, "video")))
    assert found["video.resolution"] == "分辨率 640×360 低于 1280×720"
    assert found["video.fps"] == "帧率 15 fps 低于 25 fps"
    # a small picture may not fill the bit rate asked of the encoder; the other clauses pass
    assert found.keys() <= {"video.resolution", "video.fps", "video.bit_rate"}


def test_low_sample_rate_mono_mp3_fails_rate_and_channels(tmp_path):
    mp3 = make_audio(tmp_path / "low.mp3", rate=22050, channels=1)
    findings = technical_findings("audio", probe(mp3, "audio"))
    assert failures(findings) == {
        "audio.sample_rate": "采样率 22.05 kHz 低于 44.1 kHz",
        "audio.channels": "声道 单声道，应为立体声",
    }
    assert passes(findings)["audio.format"] == "音频格式 mp3 符合"


def test_compliant_mp3_passes_every_clause(tmp_path):
    findings = technical_findings("audio", probe(make_audio(tmp_path / "ok.mp3"), "audio"))
    assert [finding.check for finding in findings] == [
        "audio.format", "audio.sample_rate", "audio.bit_depth", "audio.channels"]
    assert all(finding.ok for finding in findings), findings


def test_every_video_clause_names_what_it_found():
    webm = Probe(container="webm", width=1920, height=1080, fps=29.97, video_codec="vp9", audio_codec="opus",
                 bit_rate=800_000)
    assert failures(technical_findings("video", webm)) == {
        "video.container": "封装格式 webm，应为 mp4",
        "video.codec": "视频编码 vp9，应为 H.264",
        "video.audio_codec": "音频编码 opus，应为 AAC",
        "video.bit_rate": "平均码率 0.8 Mbps 低于 2 Mbps",
    }


def test_portrait_hd_video_and_silent_video_pass():
    portrait = Probe(container="mp4", width=720, height=1280, fps=30, video_codec="h264", bit_rate=2_500_000)
    assert failures(technical_findings("video", portrait)) == {}


def test_unknown_measurements_fail():
    assert failures(technical_findings("video", Probe(container="mp4", video_codec="h264", audio_codec="aac"))) == {
        "video.resolution": "分辨率 未知", "video.fps": "帧率 未知", "video.bit_rate": "平均码率 未知"}


def test_every_audio_clause_names_what_it_found():
    wav = Probe(container="wav", audio_codec="pcm_s24le", sample_rate=96_000, channels=6, bit_depth=32)
    assert failures(technical_findings("audio", wav)) == {
        "audio.format": "音频格式 wav，应为 mp3",
        "audio.bit_depth": "位深 32 bit，应为 16 bit",
        "audio.channels": "声道 6，应为立体声",
    }
    mp2 = Probe(container="mp3", audio_codec="mp2", sample_rate=44_100, channels=2)
    assert failures(technical_findings("audio", mp2)) == {"audio.format": "音频格式 mp2，应为 mp3"}


@pytest.mark.parametrize("kind", ["pdf", "image", "document", "archive"])
def test_other_kinds_have_no_technical_clauses(kind):
    assert technical_findings(kind, Probe(container="pdf", page_count=3)) == []
