"""PDF documents in Chinese: the embedded CJK font, and a titled table (a form or a record) on landscape A4.

The font (WenQuanYi Micro Hei, Apache-2.0, reslib/data/) is embedded as the subset each PDF uses, so any
machine prints it, offline too."""
import io
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT_FILE = Path(__file__).parent.parent / "data" / "wqy-microhei.ttc"
FONT = "WenQuanYiMicroHei"


@cache
def cjk_font() -> str:
    """The CJK font's name, registered with reportlab once."""
    pdfmetrics.registerFont(TTFont(FONT, str(FONT_FILE), subfontIndex=0))
    return FONT


def table_pdf(title: str, header: list[str], rows: list[list[str]], *, widths_mm: list[float], empty: str,
              lines_above: tuple[str, ...] = ()) -> bytes:
    """``title``, then ``lines_above`` (e.g. 填表单位 and 联系人), then the table with its header repeated on
    every page, or ``empty`` when there are no rows. Text is escaped: a title of ``<b>`` prints as typed."""
    name = cjk_font()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=landscape(A4), leftMargin=12 * mm, rightMargin=12 * mm, title=title,
                                 topMargin=15 * mm, bottomMargin=15 * mm, invariant=1)
    cell = ParagraphStyle("cell", fontName=name, fontSize=8, leading=10, wordWrap="CJK")
    heading = ParagraphStyle("heading", fontName=name, fontSize=16, leading=22)
    story = [Paragraph(escape(title), heading), Spacer(0, 2 * mm)]
    story += [Paragraph(escape(line), cell) for line in lines_above]
    story.append(Spacer(0, 3 * mm))
    if not rows:
        story.append(Paragraph(escape(empty), cell))
    else:
        data = [[Paragraph(escape(str(text)), cell) for text in row] for row in [header, *rows]]
        table = Table(data, colWidths=[width * mm for width in widths_mm], repeatRows=1)
        table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                                   ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                                   ("VALIGN", (0, 0), (-1, -1), "TOP")]))
        story.append(table)
    document.build(story)
    return buffer.getvalue()
