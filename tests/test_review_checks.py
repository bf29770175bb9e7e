"""The checks reviewers see: the core's own (metadata, technical standard, duplicates, content scan,
processing) and any plugin's, all through the review_checks hook."""
import json

import pytest
from test_review import browser, ready_resource

from reslib import hookimpl
from reslib.services import library, review
from reslib.services.media import Probe
from reslib.testing import add_resource


class LocalRules:
    """A district's own rule, added by a plugin."""

    @hookimpl
    def review_checks(self, resource):  # a plugin may leave out the viewer it does not need
        return [{"check": "district.credits", "ok": False, "message": "片尾缺少本区版权声明"}]


@pytest.fixture
def app_config():
    return {"EXTRA_PLUGINS": [LocalRules()]}


def by_check(resource, viewer=None) -> dict[str, dict]:
    """The findings as ``viewer`` reads them (the resource's owner unless named)."""
    return {finding["check"]: finding for finding in review.checks_for(resource, viewer or resource.owner)}


def video(owner, probe: Probe, **fields):
    return ready_resource(owner, file_kind="video", file_mime="video/mp4", type_code="A01", presenters="张建华",
                          probe_json=json.dumps(probe.to_dict()), **fields)


def test_a_640x360_15fps_video_fails_the_resolution_and_frame_rate_clauses(district):
    low = video(district.teacher_a, Probe(container="mp4", duration=2.0, width=640, height=360, fps=15.0,
                                          video_codec="h264", audio_codec="aac", bit_rate=2_500_000))
    checks = by_check(low)
    assert checks["video.resolution"] == {"check": "video.resolution", "ok": False, "message": "分辨率 640×360 低于 1280×720"}
    assert checks["video.fps"]["ok"] is False and checks["video.fps"]["message"] == "帧率 15 fps 低于 25 fps"
    assert checks["video.codec"]["ok"] and checks["video.bit_rate"]["ok"]


def test_a_compliant_video_passes_every_clause(district):
    good = video(district.teacher_a, Probe(container="mp4", duration=2.0, width=1280, height=720, fps=25.0,
                                           video_codec="h264", audio_codec="aac", bit_rate=2_500_000))
    technical = [f for f in review.checks_for(good, good.owner) if f["check"].startswith("video.")]
    assert len(technical) == 6 and all(f["ok"] for f in technical)


def test_an_identical_file_elsewhere_is_reported_but_not_the_resources_own_versions(district):
    first = ready_resource(district.teacher_b, status="published", title="分数的意义", content=b"%PDF-1.4 same bytes")
    copy = ready_resource(district.teacher_a, title="我的分数课", content=b"%PDF-1.4 same bytes")
    assert by_check(copy)["duplicate"] == {
        "check": "duplicate", "ok": False, "message": f"与《分数的意义》（编号 {first.id}，已入区级库）文件完全相同"}
    new_version = library.new_version(district.teacher_b, first)
    # teacher_a's draft is named to whoever may see it, and only said to exist to teacher_b
    assert by_check(new_version, district.district_admin)["duplicate"]["message"] == \
        f"与《我的分数课》（编号 {copy.id}，草稿）文件完全相同"
    assert by_check(new_version)["duplicate"]["message"] == "资源库中已有与此完全相同的文件（你无权查看）"


def test_metadata_completeness_against_the_national_standard(district):
    bare = add_resource(district.teacher_a, status="draft", file_kind="video", type_code="")
    failed = {check: f["message"] for check, f in by_check(bare).items() if not f["ok"]}
    assert failed["metadata.subject_id"] == "请选择学科"
    assert failed["metadata.category_id"] == "请选择所属分类"
    assert failed["metadata.type_code"] == "资源类型代码应为 A01"
    assert failed["metadata.cover"] == "请上传封面（JPG）"
    assert failed["metadata.presenters"] == "视频资源须填写主讲人"
    assert by_check(ready_resource(district.teacher_a, title="齐全的资源"))["metadata"]["ok"]


def test_the_workers_content_scan_and_a_processing_failure_are_shown(district):
    scanned = ready_resource(district.teacher_a, checks_json=json.dumps(
        [{"check": "content.qr_code", "ok": False, "message": "封面发现二维码（weixin://abc）"}], ensure_ascii=False))
    assert by_check(scanned)["content.qr_code"]["message"] == "封面发现二维码（weixin://abc）"
    broken = ready_resource(district.teacher_a, title="坏文件", processing="failed", processing_error="视频文件已损坏")
    assert by_check(broken)["processing"] == {"check": "processing", "ok": False, "message": "文件处理失败：视频文件已损坏"}


def test_a_plugins_finding_is_shown_to_reviewers_beside_the_cores(app, district):
    resource = ready_resource(district.teacher_a)
    review.submit(district.teacher_a, resource)
    checks = by_check(resource)
    assert checks["district.credits"]["ok"] is False and checks["metadata"]["ok"]
    page = browser(app, "admin.a").get(f"/resources/{resource.id}/review").get_data(as_text=True)
    assert "片尾缺少本区版权声明" in page and "元数据齐全" in page and "1 项不符合" in page
