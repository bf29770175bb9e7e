"""The English catalogue: every UI string translated, placeholders kept, the language switch working."""
import json
import re
from dataclasses import asdict
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import render_template_string, session
from flask_babel import get_babel

from reslib import national
from reslib.extensions import babel, db
from reslib.models import School, Term, Unit, User
from reslib.services import processing, review, usage
from reslib.services.media import UNREADABLE, MediaError, Probe
from reslib.services.standards import Finding
from reslib.testing import add_resource, csrf_token, login, make_test_app, ready_resource

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE = ROOT / "reslib" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[a-z]")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")


def read_catalogue():
    with CATALOGUE.open("rb") as fh:
        return read_po(fh)


def source_messages() -> dict[tuple[str, str | None], str]:
    """(msgid, context) → where it first occurs, extracted as `make translations-update` would, from babel.cfg."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    found = {}
    for filename, lineno, message, _comments, context in extract_from_dir(str(ROOT), method_map, options_map):
        msgid = message if isinstance(message, str) else message[0]
        found.setdefault((msgid, context), f"{filename}:{lineno}")
    return found


def test_every_ui_string_has_an_english_translation():
    messages = source_messages()
    # forms.py labels are all lazy_gettext: finding them proves babel.cfg's extra keywords took effect.
    assert any(where.startswith("reslib/views/forms.py:") for where in messages.values()), (
        "babel.cfg's keywords (_l, lazy_gettext) were not applied; this Babel may be too old")
    catalogue = read_catalogue()
    missing = []
    for (msgid, context), where in sorted(messages.items(), key=lambda item: item[1]):
        entry = catalogue.get(msgid, context=context)
        strings = (entry.string,) if entry and isinstance(entry.string, str) else (entry.string if entry else ("",))
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(f"  {where}  {msgid}" + ("  (fuzzy)" if entry is not None and entry.fuzzy else ""))
    if missing:
        pytest.fail(
            f"{len(missing)} UI strings have no English translation. Run `make translations-update`, then translate "
            f"them in {CATALOGUE.relative_to(ROOT)} (and drop the fuzzy flag once checked):\n" + "\n".join(missing),
            pytrace=False)


def test_translations_keep_every_placeholder():
    wrong = []
    for entry in read_catalogue():
        if not entry.id or not entry.string:
            continue
        ids = (entry.id,) if isinstance(entry.id, str) else entry.id
        strings = (entry.string,) if isinstance(entry.string, str) else entry.string
        for string in strings:
            # A bare % the msgid lacks breaks too: templates always apply `% variables`, so it must be written %%.
            if placeholders(string) != placeholders(ids[0]):
                wrong.append(f"  {ids[0]!r} → {string!r}")
    if wrong:
        pytest.fail("these translations lose, add or misspell a %(name)s placeholder or a %%:\n" + "\n".join(wrong),
                    pytrace=False)


def placeholders(text: str) -> tuple[set[str], int]:
    return set(PLACEHOLDER.findall(text)), PLACEHOLDER.sub("", text).count("%")


# The request tests render with a catalogue compiled from the .po right now, so they check the translations in
# the repo, not whatever .mo `make translations` last left behind.
@pytest.fixture(scope="session")
def compiled_catalogue(tmp_path_factory):
    folder = tmp_path_factory.mktemp("translations")
    target = folder / "en" / "LC_MESSAGES" / "messages.mo"
    target.parent.mkdir(parents=True)
    with target.open("wb") as fh:
        write_mo(fh, read_catalogue())
    return folder


@pytest.fixture
def app_config(compiled_catalogue):
    return {"BABEL_TRANSLATION_DIRECTORIES": str(compiled_catalogue)}


@pytest.fixture
def client(app):
    # flask_babel caches loaded catalogues per locale on the one process-wide Babel object, across apps.
    babel.domain_instance.cache.clear()
    yield app.test_client()
    babel.domain_instance.cache.clear()


def choose_english(client, page="/"):
    response = client.post("/language/en", data={"csrf_token": csrf_token(client, page), "next": "/login"})
    assert response.status_code == 302


def untranslated(html: str, data: set[str]) -> list[str]:
    """Chinese left on a page once data (names of people, schools, units, the district) is taken out."""
    for text in sorted(data, key=len, reverse=True):
        html = html.replace(text, "")
    html = html.replace('aria-hidden="true">资<', "")  # the logo's glyph
    html = html.replace(">中文<", "")  # the switch back names Chinese in Chinese
    html = html.replace("阿依古丽·买买提", "")  # the sample real name in the registration hint
    return sorted(set(CJK.findall(html)))


def district_data(app) -> set[str]:
    names = {app.config["DISTRICT_NAME"]}
    names |= {school.name for school in School.query.all()} | {unit.name for unit in Unit.query.all()}
    return names | {user.real_name for user in User.query.all()}


@pytest.mark.parametrize("language, hello", [("zh_CN", "你好，"), ("en", "Hello, ")])
def test_template_strings_are_translated_and_escape_what_fills_them(app, language, hello):
    with app.test_request_context():
        session["lang"] = language
        page = render_template_string(
            "{{ _('你好，%(name)s', name=name) }}|{{ _('完成 %(n)s%%', n=30) }}", name="<b>李雷</b>")
    assert page == f"{hello}&lt;b&gt;李雷&lt;/b&gt;|完成 30%"


def test_chinese_is_the_default(client, app):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN"' in page
    assert "登录" in page
    assert "Sign in" not in page
    assert f"{app.config['DISTRICT_NAME']}数字化教学资源库</title>" in page


def test_choosing_english_shows_the_pages_in_english(client, app):
    choose_english(client)
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en"' in page
    assert "Sign in" in page and "登录" not in page
    assert ">中文</button>" in page  # and the way back
    assert f"{app.config['DISTRICT_NAME']} Digital Teaching Resource Library</title>" in page
    assert f"<h1>{app.config['DISTRICT_NAME']} Digital Teaching Resource Library</h1>" in client.get("/").get_data(as_text=True)
    for path in ("/", "/login", "/register"):
        assert untranslated(client.get(path).get_data(as_text=True), district_data(app)) == [], path


def test_english_stays_after_signing_in(client, app, district):
    choose_english(client)
    login(client, "teacher.a")
    for path in ("/dashboard", "/profile"):
        page = client.get(path).get_data(as_text=True)
        assert '<html lang="en"' in page, path
        assert untranslated(page, district_data(app)) == [], path
    assert "Hello, " in client.get("/dashboard").get_data(as_text=True)


def test_the_dashboards_and_lists_work_in_english(client, app, district):
    sent_back, waiting = ready_resource(district.teacher_a, title="退回的课件"), ready_resource(district.teacher_a, title="待审的课件")
    review.submit(district.teacher_a, sent_back)
    review.school_decision(district.admin_a, sent_back, "return", "请补充教学目标")
    review.submit(district.teacher_a, waiting)
    published = add_resource(district.teacher_b, title="区级库资源")
    usage.rate(district.student_b, published, 5)
    resource_data = {"退回的课件", "待审的课件", "区级库资源", "请补充教学目标"}  # the stock vocabulary is translated
    resource_data |= {name for section, columns in national.SECTIONS for name in (section, *columns)}  # data, verbatim
    for username, paths in (("teacher.a", ["/dashboard", "/my/resources?status=returned", "/library?kind=teacher"]),
                            ("admin.a", ["/dashboard", "/review", f"/resources/{waiting.id}/review"])):
        browser = app.test_client()
        choose_english(browser)
        login(browser, username)
        for path in paths:
            page = browser.get(path).get_data(as_text=True)
            assert untranslated(page, district_data(app) | resource_data) == [], (username, path)
    assert "Rated 5.0 (1 people)" in browser.get("/dashboard").get_data(as_text=True)


def two_readers(app, username):
    """The same account signed in twice: reading Chinese, and reading English."""
    chinese, english = app.test_client(), app.test_client()
    choose_english(english)
    for browser in (chinese, english):
        login(browser, username)
    return chinese, english


def test_each_reader_gets_the_card_labels_in_their_own_language(app, district):
    """The labels of resource cards were drawn once per process, in the language of the first page drawn."""
    add_resource(district.teacher_b, title="区级库资源")
    chinese, english = two_readers(app, "teacher.a")
    for path in ("/library", "/dashboard"):
        assert "浏览 0" in chinese.get(path).get_data(as_text=True), path
        page = english.get(path).get_data(as_text=True)
        assert "Views 0" in page and "浏览" not in page and "暂无评分" not in page, path
        assert "浏览 0" in chinese.get(path).get_data(as_text=True), path


def test_the_stock_vocabulary_reads_in_the_readers_language(app, district):
    """The subjects, grades and forms a district starts with are stored in Chinese and shown in each reader's
    language; an entry the district added itself reads as written."""
    from reslib.services import search

    def term(vocabulary, name):
        return Term.query.filter_by(vocabulary=vocabulary, name=name).one()

    calligraphy = Term(vocabulary="subject", name="书法", position=99)
    db.session.add(calligraphy)
    db.session.commit()
    resource = add_resource(district.teacher_b, title="勾股定理微课", form_id=term("form", "微课").id,
                            subject_id=term("subject", "数学").id, grade_id=term("grade", "八年级").id,
                            category_id=term("category", "航空发动机").id)
    search.reindex()
    chinese, english = two_readers(app, "student.a")
    for path in ("/library", "/search?q=勾股定理"):
        assert "微课 · 数学 · 八年级" in chinese.get(path).get_data(as_text=True), path
        page = english.get(path).get_data(as_text=True)
        assert "Micro-lesson · Mathematics · Grade 8" in page and "数学" not in page, path
    browse = english.get("/library").get_data(as_text=True)
    assert f'<option value="{calligraphy.id}">书法</option>' in browse  # the district's own entry, as written
    assert ">Mathematics</a>" in english.get("/search?q=勾股定理").get_data(as_text=True)  # the facet
    details = english.get(f"/resources/{resource.id}").get_data(as_text=True)
    assert "<dd>Mathematics</dd>" in details and "<dd>Science and culture-Aviation-Aircraft engines</dd>" in details
    assert "<dd>科学文化-航空知识-航空发动机</dd>" in chinese.get(f"/resources/{resource.id}").get_data(as_text=True)
    # The district admin edits the stored names, and sees what readers of English are shown beside them.
    admin_zh, admin_en = two_readers(app, "admin")
    assert "Mathematics" not in admin_zh.get("/admin/taxonomy?vocabulary=subject").get_data(as_text=True)
    taxonomy = admin_en.get("/admin/taxonomy?vocabulary=subject").get_data(as_text=True)
    assert '数学 <span class="muted">Mathematics</span>' in taxonomy and 'value="数学"' in taxonomy
    assert "<span>书法</span>" in taxonomy  # the district's own entry: no translation beside it
    # A search finding nothing offers the categories sharing its words, each a search for the entry's name.
    link = '<a href="/search?q=%E9%A3%9E%E8%A1%8C%E5%8E%9F%E7%90%86">{}</a>'
    assert link.format("科学文化-航空知识-飞行原理") in chinese.get("/search?q=飞行原理课").get_data(as_text=True)
    assert link.format("Science and culture-Aviation-Principles of flight") in english.get("/search?q=飞行原理课").get_data(as_text=True)


def test_writing_a_record_in_the_districts_language_leaves_the_readers_language_to_the_rest_of_the_request(app):
    """The request keeps the reader's catalogue; a block writing records must neither use it nor leave its own."""
    from reslib.messages import as_read, in_district_language

    for read_first in (True, False):
        with app.test_request_context():
            session["lang"] = "en"
            if read_first:
                assert as_read("数学") == "Mathematics"
            with in_district_language():
                assert as_read("数学") == "数学"
            assert as_read("数学") == "Mathematics", read_first


def test_an_unknown_language_is_ignored(client):
    client.post("/language/xx", data={"csrf_token": csrf_token(client, "/")})
    assert '<html lang="zh-CN"' in client.get("/login").get_data(as_text=True)


def test_the_app_loads_the_catalogue_from_the_repo(tmp_path):
    app = make_test_app(tmp_path)
    assert str(CATALOGUE.parents[2]) in get_babel(app).translation_directories


def test_language_choice_survives_signing_out(client, district):
    from reslib.testing import login, post_form

    client.post("/language/en", data={"csrf_token": csrf_token(client, "/")})
    login(client, "teacher.a")
    post_form(client, "/logout")
    with client.session_transaction() as session:
        assert session.get("lang") == "en"


def test_an_upload_is_refused_in_the_language_chosen(client, district):
    choose_english(client)
    login(client, "teacher.a")
    token = csrf_token(client, "/dashboard")

    def upload(content: bytes) -> dict:
        return client.post("/upload/files", data=content, headers={"X-File-Name": "x.pdf", "X-CSRFToken": token}).get_json()

    empty, unknown = upload(b""), upload(b"\x00\x01 no known format")
    assert empty["error"]["message"] == "The file is empty (0 bytes); please check it and choose it again"
    assert unknown["error"]["message"].startswith("Unsupported file type: unrecognised. You can upload video")


def test_the_automatic_checks_read_in_the_reviewers_language(client, app, district):
    # What the worker stores (the content scan) and what is worked out on the page (the technical standard).
    small_video = ready_resource(district.teacher_a, title="小画面微课", file_kind="video", type_code="A01", presenters="李老师",
                                 probe_json=json.dumps(asdict(Probe(container="webm", video_codec="vp9", width=640,
                                                                    height=360, fps=15, bit_rate=3_000_000))))
    scanned = ready_resource(district.teacher_a, title="带二维码的讲义", checks_json=json.dumps(
        [asdict(Finding("content.qr_code", False, "第 %(page)s 页发现二维码（%(code)s）", (("page", 2), ("code", "weixin://abc"))))]))
    for resource in (small_video, scanned):
        review.submit(district.teacher_a, resource)
    choose_english(client)
    login(client, "admin.a")
    video_page = client.get(f"/resources/{small_video.id}/review").get_data(as_text=True)
    assert "Resolution 640×360 is below 1280×720" in video_page and "Frame rate 15 fps is below 25 fps" in video_page
    assert "Container webm, should be mp4" in video_page and "Video codec vp9, should be H.264" in video_page
    scanned_page = client.get(f"/resources/{scanned.id}/review").get_data(as_text=True)
    assert "QR code found on page 2 (weixin://abc)" in scanned_page
    data = district_data(app) | {"小画面微课", "带二维码的讲义"} | {term.name for term in Term.query.all()}
    for page in (video_page, scanned_page):
        assert untranslated(page, data) == []


def test_a_processing_failure_reads_in_the_uploaders_language(client, app, district, monkeypatch):
    broken = ready_resource(district.teacher_a, title="坏视频", file_kind="video", processing="pending")

    def truncated(resource, work):
        raise MediaError(UNREADABLE["video"], detail="moov atom not found")

    monkeypatch.setattr(processing, "_process", truncated)
    processing.process_resource(broken.id)  # as the worker runs it: the failure is stored
    login(client, "teacher.a")
    in_chinese = client.get(f"/resources/{broken.id}/edit").get_data(as_text=True)
    assert "视频文件不完整、已损坏或格式不受支持，无法读取（moov atom not found）" in in_chinese
    choose_english(client, "/dashboard")
    for path in (f"/resources/{broken.id}/edit", "/my/resources", f"/resources/{broken.id}"):
        page = client.get(path).get_data(as_text=True)
        assert ("The video file is incomplete, damaged or in an unsupported format and cannot be read "
                "(moov atom not found)") in page, path
