"""Points as the people feel them, in a real browser: a student of 育才中学 plays a video of another school past
the study threshold and sees their points reach the baseline; the school's admin sees the student leave the list
of those below it; the district admin changes a ranking weight and sees the schools' order change."""
import json
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from samples import make_video
from sqlalchemy import select
from test_journeys import log_in

from reslib.extensions import db
from reslib.models import User
from reslib.services import library
from reslib.testing import add_resource

pytestmark = pytest.mark.browser

TITLE = "光的折射实验"


@pytest.fixture
def extend_district():
    def extend(district):
        from plugins.points import service

        for user in db.session.scalars(select(User)):  # everyone joined before the term: whole baselines
            user.verified_at = user.created_at = datetime(2020, 1, 1)
        with tempfile.TemporaryDirectory() as folder:
            video = make_video(Path(folder) / "clip.mp4", width=320, height=240, fps=10, seconds=4).read_bytes()
        resource = add_resource(district.teacher_a, title=TITLE, content=video, file_kind="video",
                                file_mime="video/mp4", file_name=f"{TITLE}.mp4",
                                probe_json=json.dumps({"duration": 4.0}))
        library.changed(resource, "published", district.district_admin)  # 第一实验小学 contributes it
        service.award(district.district_admin, district.student_b, 58, "科技节二等奖")  # 2 short of 60

    return extend


def test_a_student_studies_a_video_and_the_school_and_district_see_it(browser, live_server):
    base = live_server
    people = {}
    for username in ("student.b", "admin.b", "admin"):
        context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
        context.set_default_timeout(10_000)
        people[username] = context.new_page()
        log_in(people[username], base, username)
    student, school_admin, district_admin = people["student.b"], people["admin.b"], people["admin"]

    school_admin.goto(base + "/points/school")
    expect(school_admin.locator("#below")).to_contain_text("student.b")

    student.goto(base + "/points/")
    expect(student.locator(".points-standing").first).to_contain_text("还差 2 分")
    student.goto(base + "/library")
    student.get_by_role("link", name=TITLE).first.click()
    resource_page = student.url
    # Skipping to the end is not studying: only what is actually played counts.
    student.evaluate("""async () => {
        const video = document.querySelector("video");
        video.muted = true;
        const ended = new Promise((resolve) => video.addEventListener("ended", resolve, { once: true }));
        const seeked = new Promise((resolve) => video.addEventListener("seeked", resolve, { once: true }));
        video.currentTime = 3.6;
        await seeked;
        await video.play();
        await ended;
    }""")
    student.wait_for_timeout(500)  # any report the player would send is on its way
    student.goto(base + "/points/")
    expect(student.locator(".points-standing").first).to_contain_text("还差 2 分")
    student.goto(resource_page)
    with student.expect_response(lambda r: "/progress" in r.url and r.request.post_data_json["percent"] >= 60):
        student.evaluate("""async () => {
            const video = document.querySelector("video");
            video.muted = true;
            video.playbackRate = 2;
            await video.play();
        }""")
    student.goto(base + "/points/")
    standing = student.locator(".points-standing").first
    expect(standing).to_contain_text("已达标")
    expect(student.locator("progress.points-progress").first).to_have_js_property("value", 100)
    expect(student.locator("table").first).to_contain_text(TITLE)  # the study, with the resource it was for

    school_admin.reload()
    expect(school_admin.locator("#below")).not_to_contain_text("student.b")

    district_admin.goto(base + "/points/district")
    first_school = district_admin.locator("#ranking tbody tr").first
    expect(first_school).to_contain_text("育才中学")  # use and baseline weigh 0.6 against contribution's 0.4
    district_admin.goto(base + "/points/rules")
    district_admin.get_by_label("贡献（人均资源贡献积分）").fill("1")
    district_admin.get_by_label("使用（人均资源使用次数）").fill("0")
    district_admin.get_by_label("达标（达到基本分值的师生比例）").fill("0")
    district_admin.get_by_role("button", name="保存", exact=True).click()
    expect(district_admin.get_by_text("已保存新的积分规则，今天起生效。")).to_be_visible()
    district_admin.goto(base + "/points/district")
    expect(first_school).to_contain_text("第一实验小学")
    for page in people.values():
        page.context.close()
