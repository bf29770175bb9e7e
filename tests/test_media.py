import http.server
import json
import threading

import av
import pytest
from PIL import Image
from samples import (
    make_audio,
    make_hls_in_avi,
    make_pdf,
    make_truncated_mp4,
    make_video,
    run_ffmpeg,
)

from reslib.services.media import (
    MediaError,
    Probe,
    make_cover,
    make_rendition,
    make_thumbnail,
    probe,
    rendition_args,
    rendition_target,
    video_frames,
)


@pytest.fixture(scope="module")
def mp4(tmp_path_factory):
    return make_video(tmp_path_factory.mktemp("media") / "clip.mp4")


@pytest.fixture
def canary_server():
    """An HTTP server on the loopback that records every request it gets."""
    requests = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/leak.ts", requests
    server.shutdown()
    server.server_close()


def test_probe_reads_a_video(mp4):
    result = probe(mp4, "video")
    assert (result.container, result.video_codec, result.audio_codec) == ("mp4", "h264", "aac")
    assert (result.width, result.height, result.fps) == (1280, 720, 25.0)
    assert result.duration == pytest.approx(1.0, abs=0.1)
    assert result.bit_rate > 2_000_000 and result.video_bit_rate > 2_000_000
    assert (result.sample_rate, result.channels) == (48000, 2)
    assert result.bit_depth is None  # AAC is lossy: it has no sample depth


def test_probe_reads_audio_and_its_bit_depth(tmp_path):
    wav = probe(make_audio(tmp_path / "tone.wav", codec="pcm_s16le"), "audio")
    assert (wav.container, wav.audio_codec, wav.bit_depth, wav.sample_rate, wav.channels) == (
        "wav", "pcm_s16le", 16, 44100, 2)
    mp3 = probe(make_audio(tmp_path / "tone.mp3"), "audio")
    assert (mp3.container, mp3.audio_codec, mp3.bit_depth, mp3.width) == ("mp3", "mp3", None, None)


def test_probe_names_webm_and_mkv_apart(tmp_path):
    webm = make_video(tmp_path / "a.webm", width=320, height=240, vcodec="libvpx-vp9", acodec="libopus",
                      container="webm", bitrate="300k")
    mkv = make_video(tmp_path / "a.mkv", width=320, height=240, container="matroska", bitrate="300k")
    assert probe(webm, "video").container == "webm"
    assert probe(mkv, "video").container == "mkv"


def test_probe_counts_pdf_pages_and_measures_images(tmp_path):
    assert probe(make_pdf(tmp_path / "doc.pdf", pages=3), "pdf").page_count == 3
    Image.new("RGB", (300, 200), "orange").save(tmp_path / "pic.png")
    image = probe(tmp_path / "pic.png", "image")
    assert (image.container, image.width, image.height) == ("png", 300, 200)


def test_probe_of_other_kinds_names_only_the_container(tmp_path):
    (tmp_path / "notes.txt").write_text("plain text")
    assert probe(tmp_path / "notes.txt", "document") == Probe(container="")


def test_probe_round_trips_through_json(mp4):
    result = probe(mp4, "video")
    assert Probe.from_dict(json.loads(json.dumps(result.to_dict()))) == result


def test_truncated_mp4_is_a_media_error_with_the_reason(tmp_path, mp4):
    truncated = make_truncated_mp4(mp4, tmp_path / "cut.mp4")
    with pytest.raises(MediaError) as caught:
        probe(truncated, "video")
    assert "视频文件" in caught.value.reason
    assert "moov atom not found" in caught.value.reason


def test_broken_pdf_and_image_are_media_errors(tmp_path):
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.7\nnot really")
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(MediaError, match="PDF"):
        probe(tmp_path / "bad.pdf", "pdf")
    with pytest.raises(MediaError, match="图片"):
        probe(tmp_path / "bad.png", "image")


def test_an_embedded_album_cover_is_not_a_video(tmp_path):
    make_audio(tmp_path / "tone.mp3")
    Image.new("RGB", (300, 300), "red").save(tmp_path / "album.png")
    run_ffmpeg("-i", str(tmp_path / "tone.mp3"), "-i", str(tmp_path / "album.png"), "-map", "0", "-map", "1",
               "-c:a", "copy", "-disposition:v", "attached_pic", str(tmp_path / "song.mp3"))
    assert probe(tmp_path / "song.mp3", "audio").audio_codec == "mp3"
    with pytest.raises(MediaError, match="没有画面"):
        probe(tmp_path / "song.mp3", "video")


def test_video_cover_is_a_frame_within_1280_px(tmp_path):
    clip = make_video(tmp_path / "big.mp4", width=1920, height=1080, bitrate="500k")
    assert make_cover(clip, "video", probe(clip, "video"), tmp_path / "cover.jpg")
    with Image.open(tmp_path / "cover.jpg") as cover:
        assert (cover.format, cover.size) == ("JPEG", (1280, 720))
        assert cover.convert("L").getextrema() != (0, 0)  # a picture, not a black frame


def test_video_frames_come_from_a_stream_without_an_index(tmp_path):
    """MPEG-TS has no index and its clock does not start at 0: seeking may land where nothing decodes."""
    clip = make_video(tmp_path / "clip.ts", width=320, height=240, seconds=2, container="mpegts", bitrate="200k")
    assert [frame.size for frame in video_frames(clip, [0, 1.0, 1.9, 60])] == [(320, 240)] * 4
    assert make_cover(clip, "video", probe(clip, "video"), tmp_path / "cover.jpg")


def test_pdf_cover_is_the_first_page(tmp_path):
    pdf = make_pdf(tmp_path / "doc.pdf")
    assert make_cover(pdf, "pdf", probe(pdf, "pdf"), tmp_path / "cover.jpg")
    with Image.open(tmp_path / "cover.jpg") as cover:
        assert cover.format == "JPEG"
        assert cover.height == 1280 and cover.width == pytest.approx(1280 * 595 / 842, abs=2)  # A4, upright


def test_image_cover_is_upright_rgb_on_white(tmp_path):
    image = Image.new("RGBA", (200, 100), (0, 0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; show it rotated 90°
    image.save(tmp_path / "photo.png", exif=exif)
    assert make_cover(tmp_path / "photo.png", "image", probe(tmp_path / "photo.png", "image"), tmp_path / "c.jpg")
    with Image.open(tmp_path / "c.jpg") as cover:
        assert (cover.mode, cover.size) == ("RGB", (100, 200))
        assert min(cover.getpixel((50, 100))) >= 250  # transparency became white, not black


def test_audio_has_no_cover(tmp_path):
    mp3 = make_audio(tmp_path / "tone.mp3")
    assert make_cover(mp3, "audio", probe(mp3, "audio"), tmp_path / "cover.jpg") is False
    assert not (tmp_path / "cover.jpg").exists()


def test_thumbnail_has_the_exact_size(tmp_path):
    Image.new("RGB", (595, 842), "white").save(tmp_path / "cover.jpg")
    make_thumbnail(tmp_path / "cover.jpg", tmp_path / "thumb.jpg")
    with Image.open(tmp_path / "thumb.jpg") as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (480, 270))
    make_thumbnail(tmp_path / "cover.jpg", tmp_path / "small.jpg", size=(160, 90))
    with Image.open(tmp_path / "small.jpg") as thumb:
        assert thumb.size == (160, 90)


def test_rendition_targets(tmp_path, mp4):
    webm = make_video(tmp_path / "a.webm", width=320, height=240, vcodec="libvpx", acodec="libvorbis",
                      container="webm", bitrate="300k")
    wav = make_audio(tmp_path / "tone.wav", codec="pcm_s16le")
    m4a = make_audio(tmp_path / "tone.m4a", codec="aac")
    assert rendition_target("video", probe(mp4, "video")) is None
    assert rendition_target("video", probe(webm, "video")) == "mp4"
    assert rendition_target("video", Probe(container="mov", video_codec="h264")) is None
    assert rendition_target("video", Probe(container="mp4", video_codec="hevc", audio_codec="aac")) == "mp4"
    assert rendition_target("audio", probe(wav, "audio")) == "mp3"
    assert rendition_target("audio", probe(m4a, "audio")) is None
    assert rendition_target("audio", probe(make_audio(tmp_path / "tone.mp3"), "audio")) is None
    assert rendition_target("pdf", Probe(container="pdf")) is None


def test_webm_rendition_is_a_faststart_h264_aac_mp4(tmp_path):
    webm = make_video(tmp_path / "a.webm", width=321, height=241, vcodec="libvpx-vp9", acodec="libopus",
                      container="webm", bitrate="300k")
    source = probe(webm, "video")
    make_rendition(webm, tmp_path / "out.mp4", "mp4", source)
    result = probe(tmp_path / "out.mp4", "video")
    assert (result.container, result.video_codec, result.audio_codec) == ("mp4", "h264", "aac")
    assert (result.width, result.height) == (320, 240)  # made even for 4:2:0
    data = (tmp_path / "out.mp4").read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # the index first: playback starts before the download ends
    assert sorted(path.name for path in tmp_path.iterdir()) == ["a.webm", "out.mp4"]  # no temp file left


def test_wav_rendition_is_a_stereo_44k_mp3(tmp_path):
    wav = make_audio(tmp_path / "tone.wav", rate=22050, channels=1, codec="pcm_s16le")
    make_rendition(wav, tmp_path / "out.mp3", "mp3", probe(wav, "audio"))
    result = probe(tmp_path / "out.mp3", "audio")
    assert (result.container, result.audio_codec, result.sample_rate, result.channels) == ("mp3", "mp3", 44100, 2)
    assert 120_000 <= result.audio_bit_rate <= 136_000


def test_failed_rendition_leaves_nothing_and_says_why(tmp_path, mp4):
    cut = make_truncated_mp4(mp4, tmp_path / "cut.mp4")
    with pytest.raises(MediaError) as caught:
        make_rendition(cut, tmp_path / "out.mp4", "mp4", Probe(container="mp4"))
    assert caught.value.reason.startswith("转码失败（") and "Invalid data found" in caught.value.reason  # ffmpeg's last line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cut.mp4"]


def test_rendition_timeout_leaves_nothing(tmp_path, mp4):
    with pytest.raises(MediaError, match="转码超时"):
        make_rendition(mp4, tmp_path / "out.mp4", "mp4", probe(mp4, "video"), timeout=0.01)
    assert list(tmp_path.iterdir()) == []


def test_rendition_command_reads_only_the_local_file_with_a_forced_demuxer(tmp_path):
    args = rendition_args(tmp_path / "in", tmp_path / "out.mp4", "mp4", Probe(container="webm"))
    before_input = args[: args.index("-i")]
    assert "-nostdin" in args
    assert ["-protocol_whitelist", "file"] == before_input[before_input.index("-protocol_whitelist"):][:2]
    assert ["-f", "matroska"] == before_input[before_input.index("-f"):][:2]
    assert "-movflags" in args and "+faststart" in args
    with pytest.raises(MediaError, match="hls"):
        rendition_args(tmp_path / "in", tmp_path / "out.mp4", "mp4", Probe(container="hls"))


def test_hls_in_avi_reads_no_other_file_and_fetches_no_url(tmp_path, canary_server):
    canary_url, requests = canary_server
    secret = "CANARY-7f3a9c-do-not-leak"
    (tmp_path / "canary.ts").write_text(secret)
    hostile = make_hls_in_avi(tmp_path / "upload.avi", tmp_path / "canary.ts", canary_url)
    out = tmp_path / "out"
    out.mkdir()

    reasons = []
    for attempt in (
        lambda: probe(hostile, "video"),
        lambda: make_cover(hostile, "video", Probe(container="avi", duration=1.0), out / "cover.jpg"),
        lambda: make_rendition(hostile, out / "rendition.mp4", "mp4", Probe(container="avi")),
    ):
        try:
            reasons.append(repr(attempt()))
        except MediaError as error:
            reasons.append(error.reason)

    assert requests == []
    for text in reasons:
        assert secret not in text
    for produced in out.iterdir():
        assert secret.encode() not in produced.read_bytes()


@pytest.mark.parametrize("playlist", ["hls", "ffconcat"])
def test_playlists_an_unprotected_ffmpeg_follows_are_refused(tmp_path, playlist):
    """Each of these makes a plain av.open read another local file; ours refuse them."""
    if playlist == "hls":
        make_video(tmp_path / "segment.ts", width=160, height=120, container="mpegts", bitrate="100k")
        hostile = tmp_path / "upload.m3u8"
        hostile.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nsegment.ts\n#EXT-X-ENDLIST\n")
    else:
        make_video(tmp_path / "other", width=160, height=120, bitrate="100k")
        hostile = tmp_path / "upload"  # stored uploads have no extension
        hostile.write_text("ffconcat version 1.0\nfile other\n")
    with av.open(str(hostile)) as unprotected:
        assert unprotected.format.name == ("hls" if playlist == "hls" else "concat")
        assert unprotected.streams.video[0].codec_context.width == 160

    with pytest.raises(MediaError):
        probe(hostile, "video")
    with pytest.raises(MediaError):
        make_cover(hostile, "video", Probe(container="mp4", duration=1.0), tmp_path / "cover.jpg")
    with pytest.raises(MediaError):
        make_rendition(hostile, tmp_path / "rendition.mp4", "mp4", Probe(container="mp4"))
    assert not (tmp_path / "cover.jpg").exists() and not (tmp_path / "rendition.mp4").exists()
