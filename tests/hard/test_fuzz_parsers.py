"""Hypothesis over every parser that takes a user's text: the ``next`` check, file names, the catalogue and
roster importers, the search query, the export's cells. Each states what must hold, not only "no crash".

Derandomized and bounded, so CI runs the same examples every time within its budget; an example that once
failed is kept with ``@example``.
"""
import csv
import io
import json
import unicodedata
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from werkzeug.test import create_environ
from werkzeug.utils import redirect

from reslib.errors import ReslibError
from reslib.extensions import db
from reslib.search import segment
from reslib.services import importer, library, roster, search
from reslib.services.tables import SHEET_TITLE_MAX, read_table, safe_cell, xlsx_bytes
from reslib.testing import District, add_resource, make_test_app, running
from reslib.views import safe_next

FUZZ = settings(max_examples=500, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])
SLOW_FUZZ = settings(FUZZ, max_examples=200)  # the examples that go through the database

SITE = "https://reslib.example/"
DEFAULT = "/dashboard"
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"

# Text with every code point (surrogates too), and text weighted to what these parsers treat specially.
any_text = st.text(st.characters(exclude_categories=()))
url_like = st.lists(st.sampled_from([*"/\\:.?#@%&=aZ0 ", "\t", "\r", "\n", "\x00", "\x7f", "\x85", "\u202e", "\u3000",
                                     "\uff0f", "\ud800", "//", "http:", "[", "]"]), max_size=12).map("".join)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory):
    """One app for the whole module (a fixture per example would be rebuilt for every one of them)."""
    with running(make_test_app(tmp_path_factory.mktemp("fuzz"))) as app:
        db.create_all()
        yield app


@pytest.fixture(scope="module")
def district(fuzz_app):
    """Examples only read it: imports are dry runs."""
    return District()


# --- where to go after a form ---------------------------------------------------------------

@FUZZ
@given(st.one_of(any_text, url_like))
@example("/\r\nSet-Cookie: x=y")  # defect 5: a 500 after a correct sign-in
@example("//[")  # the host of an unfinished IPv6 address made urlsplit raise
@example("/\t/evil.example")  # a browser drops the tab and goes to another site
@example("/\ud800")
def test_next_is_the_default_or_a_same_site_path_a_location_header_holds(target):
    result = safe_next(target, DEFAULT)
    if result == DEFAULT:
        return
    assert result == target.replace("\\", "/").strip()  # followed as given, never rewritten into something else
    assert result.startswith("/") and not result.startswith("//")
    assert not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in result)
    headers = redirect(result).get_wsgi_headers(create_environ())
    location = headers["Location"]
    location.encode("latin-1")  # what a WSGI server can send
    assert urlsplit(urljoin(SITE, location)).netloc == "reslib.example"


@FUZZ
@given(st.from_regex(r"/[a-z0-9_\-]+(/[a-z0-9_\-]*)*(\?[a-z]+=[a-z0-9%]*)?", fullmatch=True))
def test_a_same_site_path_is_followed(path):
    assert safe_next(path, DEFAULT) == path


# --- file names -----------------------------------------------------------------------------

@FUZZ
@given(any_text)
@example("\u202egnp.exe")
@example("../../etc/passwd")
@example("..\\..\\windows\\win.ini")
@example("/")
def test_file_names_are_cleaned_to_something_shown_safely(fuzz_app, file_name):
    for cleaned in (library.display_name(file_name), library.title_from(file_name)):
        assert 0 < len(cleaned) <= 200
        assert not any(ch in cleaned for ch in "/\\" + BIDI_CONTROLS)
        assert not any(unicodedata.category(ch) == "Cc" for ch in cleaned)


# --- the catalogue and roster importers --------------------------------------------------------

plain_text = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=20)  # what a spreadsheet cell holds


def cells(*good):
    """A column's cells: values the importer accepts, or anything."""
    return st.one_of(st.sampled_from(good), plain_text)


CATALOGUE_COLUMNS = {
    "资源标题": cells("勾股定理微课", "", " "), "链接": cells("https://example.org/1", "https://example.org/2", "ftp://x"),
    "学科": cells("数学", "天文学"), "学段": cells("初中"), "年级": cells("八年级"), "教材版本": cells("人教版"),
    "资源形式": cells("微课"), "创建时间": cells("2022-03-23", "2022-03-23 00:00:00", "2022-02-30"),
    "资源类别": cells("学生学习资源"), "来源": cells("区级制作"), "资源类型代码": cells("A01", "a03", ""),
    "所属分类": cells("科学文化-航空知识-航空发动机"), "关键词": cells("航空；发动机", "=1+2"), "文件": cells("", "a.mp4"),
}
ROSTER_COLUMNS = {
    "姓名": cells("林小雨", "阿依古丽·买买提", "Anna Li", "x"), "学号/工号": cells("S1001", "T-01", "s1001"),
    "身份": cells("学生", "教师", "teacher", "校长"), "学号": cells("S1002"),
}


@st.composite
def table_files(draw, stem: str, columns: dict, required: tuple) -> tuple[str, bytes]:
    """A .csv (in any encoding Excel saves) or .xlsx with the required columns, some others, in any order."""
    others = draw(st.lists(st.sampled_from([name for name in columns if name not in required]), unique=True))
    header = draw(st.permutations([*required, *others]))
    rows = draw(st.lists(st.tuples(*(columns[name] for name in header)).map(list), max_size=5))
    if draw(st.booleans()):
        return f"{stem}.xlsx", small_workbook([header, *rows])
    return f"{stem}.csv", csv_text([header, *rows]).encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"])))


def csv_text(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def small_workbook(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


WORKBOOK = small_workbook([["资源标题", "链接"], ["勾股定理", "https://example.org/a"]])


@st.composite
def damaged_workbooks(draw) -> bytes:
    """A real workbook cut short or with bytes changed, or a few bytes that merely start like a zip."""
    data = bytearray(WORKBOOK[:draw(st.integers(0, len(WORKBOOK)))])
    for at, value in draw(st.lists(st.tuples(st.integers(0, max(len(data) - 1, 0)), st.integers(0, 255)),
                                   max_size=4)):
        if data:
            data[at] = value
    return bytes(data) if draw(st.booleans()) else b"PK\x03\x04" + draw(st.binary(max_size=60))


def any_file(stem: str, extensions: tuple) -> st.SearchStrategy:
    """Bytes of any kind under any of the names an importer is given."""
    return st.tuples(st.sampled_from([stem + extension for extension in extensions]),
                     st.one_of(st.binary(max_size=200), damaged_workbooks()))


def import_outcome(run):
    """The report, or None when a ReslibError refused the file (naming the file): never another exception."""
    try:
        return run()
    except ReslibError as exc:
        assert exc.message and exc.field == "file"
        return None


@SLOW_FUZZ
@given(st.one_of(table_files("目录", CATALOGUE_COLUMNS, ("资源标题", "链接")),
                 any_file("目录", (".csv", ".xlsx", ".jsonl", ".txt"))))
@example(("目录.csv", "资源标题,链接\n勾股定理,https://[::1\n".encode()))  # urlsplit's ValueError was a 500
@example(("目录.csv", ("资源标题,资源简介\n勾股定理," + "长" * 200_000 + "\n").encode()))  # defect 8
def test_the_catalogue_importer_reports_or_refuses_any_file(district, upload):
    """Every row is accounted for: new, changed, unchanged, or reported by its number."""
    filename, data = upload
    report = import_outcome(lambda: importer.import_records(district.district_admin, filename, data,
                                                            library="district", dry_run=True))
    if report is not None:
        reported = {number for number, _message in report.errors}
        assert report.created + report.updated + report.unchanged + len(reported) == report.rows


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["title", "链接", "关键词", "x"]) | st.text(),
                                                                 inner, max_size=3),
    max_leaves=8,
)


@SLOW_FUZZ
@given(st.lists(st.one_of(json_values.map(lambda value: ("json", value)),
                          st.integers(1, 5000).map(lambda depth: ("nested", depth)),
                          # (a byte order mark starts the file, not a line: it is read as the file's encoding)
                          st.text(st.characters(exclude_characters="\n\ufeff"), max_size=20).map(
                              lambda text: ("text", text))), min_size=1, max_size=5),
       st.booleans())
@example([("nested", 100_000)], False)  # defect 7: RecursionError
@example([("json", {"title": "甲\u2028乙", "link": "https://example.org/a"})], False)  # a line break inside a string
def test_every_json_line_that_is_not_an_object_is_reported_as_such(district, lines, ascii_only):
    """Each line is one row: exactly the lines that are not JSON objects are reported as not being one."""
    texts = []
    for form, value in lines:
        if form == "json":
            texts.append(json.dumps(value, ensure_ascii=ascii_only))
        elif form == "nested":
            texts.append("[" * value + "]" * value)
        else:
            texts.append(value)
    report = importer.import_records(district.district_admin, "目录.jsonl", "\n".join(texts).encode(),
                                     library="district", dry_run=True)
    not_objects = {number for number, message in report.errors if message == "不是有效的 JSON 对象"}
    expected = set()
    for number, text in enumerate(texts, start=1):
        try:
            is_object = isinstance(json.loads(text), dict) if text.strip() else None
        except (ValueError, RecursionError):
            is_object = False
        if is_object is False:
            expected.add(number)
    assert not_objects == expected


@SLOW_FUZZ
@given(st.one_of(table_files("花名册", ROSTER_COLUMNS, ("姓名", "学号/工号", "身份")),
                 any_file("花名册", (".csv", ".xlsx", ".txt"))))
def test_the_roster_importer_reports_or_refuses_any_file(district, upload):
    """A file is refused, or every bad row is reported by its number, or its rows are counted."""
    filename, data = upload
    report = import_outcome(lambda: roster.import_roster(district.admin_a, district.school_a, filename, data,
                                                         dry_run=True))
    if report is not None:
        assert all(message.startswith("第 ") and "行：" in message for message in report.errors)


@FUZZ
@given(st.lists(st.lists(st.text(max_size=10), min_size=3, max_size=3), max_size=6),
       # Excel's own CSV, or every cell quoted with Unix or old Mac line ends (unquoted, a line break in a cell
       # would end the row whatever the reader)
       st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\n", csv.QUOTE_ALL), ("\r", csv.QUOTE_ALL)]))
@example([["甲\u2028乙", "a\rb", "\"x\""]], ("\r", csv.QUOTE_ALL))
def test_a_csv_reads_back_what_a_spreadsheet_wrote(rows, dialect):
    """Any cells, any line ends: each non-empty row comes back, numbered as in the file."""
    line_end, quoting = dialect
    out = io.StringIO()
    csv.writer(out, lineterminator=line_end, quoting=quoting).writerows([["a", "b", "c"], *rows])
    table = read_table("x.csv", out.getvalue().encode(), {key: (key,) for key in "abc"}, required=("a",), max_rows=10)
    expected = [(number, dict(zip("abc", (cell.strip() for cell in row))))
                for number, row in enumerate(rows, start=2) if any(cell.strip() for cell in row)]
    assert table.rows == expected


# --- the search query -----------------------------------------------------------------------

def folded(text: str) -> str:
    """As the index reads text: full-width ASCII forms as ASCII, Latin letters in lower case."""
    return "".join(chr(ord(ch) - 0xFEE0) if "\uff01" <= ch <= "\uff5e" else ch for ch in text).lower()


@FUZZ
@given(st.one_of(any_text, st.text(st.sampled_from(list("勾股定理人教版九年级AbC12 \"“”，。") + ["\u3000"]))))
@example("\"" * 301)
@example("爱国主义教育" * 60)
def test_any_query_parses_into_a_bounded_query_of_its_own_characters(text):
    q = search.clean_query(text)
    assert len(q) <= search.QUERY_MAX and "\n" not in q
    parts = segment.query_terms(q)
    assert len(parts) <= len(q)
    allowed = set(folded(q))
    for part in parts:
        assert part.phrase and all(part.phrase)
        assert all(set(term) <= allowed and len(term) <= segment.LATIN_UNIT_MAX for term in part.phrase)
        assert part.word is None or (len(part.word) >= 3 and set(part.word) <= allowed)
        assert part.pinyin is None or (part.pinyin.isascii() and part.pinyin.isalpha() and part.pinyin == part.phrase[0])


@pytest.fixture(scope="module")
def indexed(district):
    for n, title in enumerate(["勾股定理微课", "人教版九年级数学", "Photosynthesis 光合作用", "爱国主义教育"]):
        add_resource(district.teacher_a, title=title, file_name=f"{n}.pdf")
    search.reindex()
    return district


@SLOW_FUZZ
@given(any_text)
@example("勾股")
@example("\"勾股定理\" agzy")
def test_searching_any_text_answers_a_page(indexed, text):
    found = search.search(indexed.student_b, text)
    assert found.q == search.clean_query(text)
    assert len(found.items) <= found.per_page
    assert len(search.suggest(indexed.student_b, text)) <= search.SUGGESTIONS


# --- what the exports write -----------------------------------------------------------------

@FUZZ
@given(st.one_of(any_text, st.integers(), st.floats(allow_nan=False), st.none(), st.dates()))
@example("=HYPERLINK(\"http://x\")")
@example("\t=1")
def test_a_cell_a_spreadsheet_would_run_is_escaped_and_no_other_is_changed(value):
    escaped = safe_cell(value)
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        assert escaped == "'" + value
    else:
        assert escaped == value
    assert not (isinstance(escaped, str) and escaped.startswith(FORMULA_TRIGGERS))


# Cells hold what the app's validated fields can: XML's characters (a control character is not one).
xml_text = st.text(st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="\ufffe\uffff"), max_size=12)


@FUZZ
@given(any_text, st.lists(st.lists(st.one_of(xml_text, st.sampled_from(["=1+2", "@SUM(A1)", "-1", "+86"])),
                                   min_size=2, max_size=2), max_size=4))
@example("测试学校（东/西校区）", [])  # defect 4: a 500
@example("\x08", [])  # a control character made the workbook unreadable
@example("\ud800", [])
@example("'" * 40, [])
def test_an_export_opens_with_a_valid_sheet_name_and_no_formulas(title, rows):
    workbook = load_workbook(io.BytesIO(xlsx_bytes(title, ["姓名", "状态"], rows)))
    (name,) = workbook.sheetnames
    assert 0 < len(name) <= SHEET_TITLE_MAX and not any(ch in name for ch in "/\\:?*[]")
    assert not name.startswith("'") and not name.endswith("'")
    written = [cell for row in workbook.active.iter_rows(min_row=2) for cell in row]
    assert all(cell.data_type != "f" for cell in written)
    assert [cell.value or "" for cell in written] == [safe_cell(value) for row in rows for value in row]
