"""Reading CSV/XLSX uploads by header name, and writing XLSX exports that spreadsheets cannot execute."""
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field

from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook

from reslib.errors import ReslibError
from reslib.services.storage import check_zip_bomb

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# What Excel refuses in a sheet's name, as the full-width forms a Chinese name would use anyway.
_SHEET_TITLE_FULL_WIDTH = str.maketrans("/\\:?*[]", "／＼：？＊［］")
# Control characters, which no sheet name holds, and what XML cannot hold at all (a workbook with one in
# a name does not open).
_NOT_IN_SHEET_TITLES = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
SHEET_TITLE_MAX = 31
# Far past the largest import a row cap allows (20,000 rows of text inflate to some tens of MB)
XLSX_MAX_UNZIPPED_BYTES = 256 * 1024 * 1024
_PROLOG_BYTES = 64 * 1024  # a DOCTYPE comes before the root element: far within this


@dataclass
class Table:
    rows: list[tuple[int, dict]]  # (row number as the user sees it, {column key: text})
    errors: list[str] = field(default_factory=list)


def read_table(filename: str, data: bytes, columns: dict[str, tuple[str, ...]], *, required: tuple[str, ...], max_rows: int) -> Table:
    """Parse an uploaded .csv or .xlsx whose first row names the columns.

    ``columns`` maps our key to the header texts accepted for it (Chinese first, then aliases).
    """
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        raw_rows = _xlsx_rows(data)
    elif name.endswith(".csv"):
        raw_rows = _csv_rows(data)
    else:
        raise ReslibError(_("只接受 .csv 或 .xlsx 文件"), field="file")
    header = next(raw_rows, None)
    if not header:
        raise ReslibError(_("文件是空的"), field="file")
    lookup = {alias.strip().lower(): key for key, aliases in columns.items() for alias in aliases}
    positions = {}
    for index, title in enumerate(header):
        key = lookup.get(str(title or "").strip().lower())
        if key and key not in positions:
            positions[key] = index
    missing = [columns[key][0] for key in required if key not in positions]
    if missing:
        raise ReslibError(_("缺少必需的列：%(cols)s", cols="、".join(missing)), field="file")
    table = Table(rows=[])
    for number, values in enumerate(raw_rows, start=2):
        if number - 1 > max_rows:
            raise ReslibError(_("一次最多导入 %(n)s 行", n=max_rows), field="file")
        cells = {key: _text(values[i]) if i < len(values) else "" for key, i in positions.items()}
        if any(cells.values()):
            table.rows.append((number, cells))
    return table


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # numbers typed into Excel come back as 2023001.0
    return str(value).strip()


def _csv_rows(data: bytes):
    """The rows one at a time, so that a file longer than allowed is refused without reading it all."""
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK unless told otherwise
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ReslibError(_("无法识别文件编码，请另存为 UTF-8 的 CSV 或 .xlsx"), field="file")
    rows_read = 0
    try:
        # newline="": line breaks are the reader's to find, so that old Mac files (CR alone) read too
        for rows_read, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
            yield row
    except csv.Error as exc:  # read leniently (not strict), a cell over the field limit is its only error
        raise ReslibError(_("第 %(n)s 行有单元格超过 %(limit)s 个字符，无法读取（引号不成对时，其后的内容会连成一格）",
                            n=rows_read + 1, limit=csv.field_size_limit()), field="file") from exc


def _xlsx_rows(data: bytes):
    """The active sheet's rows one at a time, as ``_csv_rows``."""
    damaged = _("无法读取这个 Excel 文件：请确认它是 .xlsx 格式且没有损坏")
    # openpyxl inflates the sheet whole: a bomb is refused by its central directory first
    check_zip_bomb(io.BytesIO(data), max_unzipped=XLSX_MAX_UNZIPPED_BYTES)
    if _declares_a_dtd(data):
        raise ReslibError(damaged, field="file")
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = workbook.active.iter_rows(values_only=True)  # a workbook without a worksheet has no active sheet
    except Exception as exc:  # openpyxl raises many types for a damaged file
        raise ReslibError(damaged, field="file") from exc
    try:
        for row in rows:
            yield list(row)
    except Exception as exc:  # a sheet damaged past its start fails only when read that far
        raise ReslibError(damaged, field="file") from exc
    finally:
        workbook.close()


def _declares_a_dtd(data: bytes) -> bool:
    """Whether any XML part of the workbook has a DOCTYPE. Excel never writes one; entities and remote DTDs come
    in through it. Refused here whichever XML parser openpyxl uses (defusedxml refuses them, lxml would not)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            for member in package.infolist():
                with package.open(member) as part:
                    head = part.read(_PROLOG_BYTES)
                encoding = "utf-16" if head[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8"
                if "<!DOCTYPE" in head.decode(encoding, errors="ignore").upper():
                    return True
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return False  # not a workbook at all: openpyxl says so next
    return False


def safe_cell(value):
    """Text a spreadsheet would read as a formula is prefixed with a quote (CSV/formula injection)."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def sheet_title(text: str) -> str:
    """``text`` as a name Excel accepts for a sheet: none of / \\ : ? * [ ], at most 31 characters, not
    beginning or ending with an apostrophe. Empty when nothing is left (openpyxl then names it "Sheet")."""
    title = _NOT_IN_SHEET_TITLES.sub("", text).translate(_SHEET_TITLE_FULL_WIDTH)
    return title[:SHEET_TITLE_MAX].strip().strip("'")


def xlsx_bytes(title: str, header: list[str], rows) -> bytes:
    return xlsx_workbook([(title, header, rows)])


def xlsx_workbook(sheets: list[tuple[str, list[str], list]]) -> bytes:
    """A workbook of one sheet per (title, header, rows), every text cell safe from formula injection."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(sheet_title(title))
        sheet.append(header)
        for row in rows:
            sheet.append([safe_cell(value) for value in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
