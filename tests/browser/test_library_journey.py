"""A resource's whole life, in a real browser: a teacher uploads a video with metadata and watches the
progress bar, submits; the school admin approves; two reviewers score; it is published; a student of
another school finds it by browsing, plays it with seeking, rates it and downloads it."""
import time

import pytest
from playwright.sync_api import expect
from samples import make_video
from test_journeys import VIEWPORTS, assert_fits_phone, log_in

pytestmark = pytest.mark.browser

TITLE = "勾股定理的证明"
SCORES = {  # per reviewer: the rubric's criteria (reslib.config.REVIEW_RUBRIC) with their maxima in the labels
    "reviewer": {"导向正确（满分 20）": 18, "科学规范（满分 20）": 17, "教学价值（满分 30）": 26,
                 "技术质量（满分 20）": 17, "版权合规（满分 10）": 9},  # 87
    "reviewer.c": {"导向正确（满分 20）": 17, "科学规范（满分 20）": 16, "教学价值（满分 30）": 25,
                   "技术质量（满分 20）": 16, "版权合规（满分 10）": 9},  # 83
}
GRADE = "良（均分 85.0）"  # the mean of 87 and 83, graded by REVIEW_GRADE_THRESHOLDS


@pytest.fixture
def extend_district():
    """The panel needs two reviewers from schools other than the resource's: one more, from 光明小学."""
    return lambda district: district.user("reviewer.c", {"reviewer", "teacher"}, district.school_c, identifier="T3001")


@pytest.fixture
def sign_in(browser, live_server):
    """Each person at their own browser: sign_in(username, device) gives a signed-in page."""
    contexts = []

    def open_as(username, device="desktop"):
        phone = device == "phone"
        context = browser.new_context(viewport=VIEWPORTS[device], is_mobile=phone, has_touch=phone,
                                      device_scale_factor=2 if phone else 1, locale="zh-CN")
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        log_in(page, live_server, username)
        expect(page.get_by_role("heading", name="你好，")).to_be_visible()
        return page

    yield open_as
    for context in contexts:
        context.close()


def reload_until_processed(page, seconds=30):
    """The edit page is not live: reload it until the worker has finished with the file."""
    state = page.locator(".processing")
    deadline = time.monotonic() + seconds
    while (text := state.inner_text()) != "处理完成":
        assert "处理失败" not in text, page.get_by_role("alert").all_inner_texts()
        assert time.monotonic() < deadline, f"the file was still “{text}” after {seconds} s"
        page.wait_for_timeout(300)
        page.reload()


def open_from_queue(page, base):
    page.goto(base + "/review")
    page.locator(".queue-item").filter(has_text=TITLE).get_by_role("link", name="审核", exact=True).click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()


def preview_statuses(page) -> list[int]:
    """Fills up with the status of each response to the video's source (the resource's preview) on ``page``."""
    statuses = []
    page.on("response", lambda response: response.url.endswith("/preview") and statuses.append(response.status))
    return statuses


def play_and_seek(page):
    """Plays the video muted, then jumps to 1.5 s; the time reached and the media error code, if any."""
    return page.evaluate("""async () => {
        const video = document.querySelector("video");
        video.muted = true;
        await video.play();
        const seeked = new Promise((resolve) => video.addEventListener("seeked", resolve, { once: true }));
        video.currentTime = 1.5;
        await seeked;
        return { time: video.currentTime, error: video.error === null ? null : video.error.code };
    }""")


def test_video_goes_from_upload_through_review_to_a_student_of_another_school(live_server, worker, sign_in, tmp_path):
    base = live_server
    video = make_video(tmp_path / f"{TITLE}.mp4", width=1280, height=720, fps=25, seconds=2)

    # The teacher uploads, watches the progress bar and fills in the metadata.
    teacher = sign_in("teacher.a")
    teacher.goto(base + "/upload")
    teacher.set_input_files("#upload-input", video)
    row = teacher.locator("#upload-list .upload-item").filter(has_text=video.name)
    expect(row.locator("progress")).to_have_js_property("value", 100)
    row.get_by_role("link", name="补全信息").click()
    expect(teacher.get_by_label("资源标题", exact=True)).to_have_value(TITLE)  # from the file's name
    teacher.get_by_label("资源类别", exact=True).select_option(label="学生学习资源")
    teacher.get_by_label("资源形式", exact=True).select_option(label="微课")
    teacher.get_by_label("学段", exact=True).select_option(label="初中")
    teacher.get_by_label("学科", exact=True).select_option(label="数学")
    teacher.get_by_label("年级", exact=True).select_option(label="八年级")
    teacher.get_by_label("创建时间", exact=True).fill("2024-03-23")
    teacher.get_by_label("版权方", exact=True).fill("第一实验小学")
    teacher.get_by_label("主讲人", exact=True).fill("张建华；朱新")
    teacher.get_by_label("关键词", exact=True).fill("勾股定理;几何")
    teacher.get_by_label("来源", exact=True).select_option(label="区级制作")
    teacher.get_by_label("授权方式", exact=True).select_option(label="CC BY-NC 4.0")
    teacher.get_by_label("资源简介", exact=True).fill("用拼图证明勾股定理，两分钟看懂。")
    teacher.get_by_role("button", name="保存").click()
    expect(teacher.get_by_role("status")).to_contain_text("已保存")
    reload_until_processed(teacher)
    expect(teacher.locator("main")).to_contain_text("信息已齐全，可以提交学校审核。")
    teacher.get_by_role("button", name="提交审核").click()
    expect(teacher.get_by_role("status")).to_contain_text("已提交学校审核")

    # The school admin approves it and sends it on to district review.
    school_admin = sign_in("admin.a")
    open_from_queue(school_admin, base)
    school_admin.get_by_role("radio", name="通过，并推荐到区级评审").check()
    school_admin.get_by_role("button", name="提交结论").click()
    expect(school_admin.get_by_role("status")).to_contain_text("已通过，并推荐到区级评审")

    # The district admin picks a panel from two other schools.
    district_admin = sign_in("admin")
    open_from_queue(district_admin, base)
    district_admin.get_by_role("checkbox", name="育才中学").check()
    district_admin.get_by_role("checkbox", name="光明小学").check()
    district_admin.get_by_role("button", name="指派", exact=True).click()
    expect(district_admin.get_by_role("status")).to_contain_text("评审专家已指派")

    for username, scores in SCORES.items():
        reviewer = sign_in(username)
        open_from_queue(reviewer, base)
        for criterion, points in scores.items():
            reviewer.get_by_label(criterion, exact=True).fill(str(points))
        reviewer.get_by_role("button", name="保存评分").click()
        expect(reviewer.get_by_role("status")).to_contain_text("评分已保存")

    district_admin.reload()
    district_admin.get_by_role("radio", name="通过，进入区级资源库（按评审均分定等级）").check()
    district_admin.get_by_role("button", name="提交结论").click()
    expect(district_admin.get_by_role("status")).to_contain_text("已通过，资源进入区级资源库")
    expect(district_admin.locator("main")).to_contain_text(GRADE)

    # A student of another school finds it in the district library, plays it, rates it and downloads it.
    student = sign_in("student.b")
    previews = preview_statuses(student)
    student.goto(base + "/library")
    card = student.locator(".resource-card").filter(has_text=TITLE)
    expect(card).to_contain_text("第一实验小学")
    expect(card.locator(".grade-badge")).to_have_text("良")
    card.get_by_role("link", name=TITLE).click()
    expect(student.get_by_role("heading", name=TITLE)).to_be_visible()
    assert play_and_seek(student) == {"time": pytest.approx(1.5, abs=0.1), "error": None}
    assert previews and set(previews) == {206}  # the media player asks for byte ranges and gets them

    ratings = student.locator("#ratings")
    ratings.get_by_role("radio", name="4 星").check()
    ratings.get_by_label("评论（选填）").fill("拼图很直观，学生一看就懂。")
    ratings.get_by_role("button", name="提交评分").click()
    expect(student.get_by_role("status")).to_contain_text("感谢评分")
    expect(ratings.locator(".rating-average")).to_contain_text("4.0")
    expect(ratings.locator(".rating-average")).to_contain_text("1 人评分")
    expect(ratings.locator(".distribution li").filter(has_text="4 星")).to_contain_text("1")
    expect(ratings.locator(".distribution li").filter(has_text="5 星")).to_contain_text("0")
    expect(ratings.locator(".comments")).to_contain_text("拼图很直观，学生一看就懂。")

    with student.expect_download() as download_info:
        student.get_by_role("link", name="下载", exact=True).click()
    download = download_info.value
    assert download.suggested_filename == f"{TITLE}.mp4"
    assert download.path().read_bytes() == video.read_bytes()

    # The same student on a phone: nothing sticks out sideways, the video plays, their rating is kept.
    phone = sign_in("student.b", "phone")
    previews = preview_statuses(phone)
    phone.goto(base + "/library")
    assert_fits_phone(phone, "phone")
    phone.locator(".resource-card").filter(has_text=TITLE).get_by_role("link", name=TITLE).click()
    expect(phone.get_by_role("heading", name=TITLE)).to_be_visible()
    phone.wait_for_load_state()  # the stylesheets: without them the video is as wide as its frames
    assert_fits_phone(phone, "phone")
    assert play_and_seek(phone) == {"time": pytest.approx(1.5, abs=0.1), "error": None}
    assert previews and set(previews) == {206}
    expect(phone.get_by_role("radio", name="4 星")).to_be_checked()

    # The upload page fits a phone too (its file input is hidden behind the 选择文件 button).
    teacher_phone = sign_in("teacher.a", "phone")
    teacher_phone.goto(base + "/upload")
    expect(teacher_phone.get_by_text("选择文件")).to_be_visible()
    assert_fits_phone(teacher_phone, "phone")
