"""The evaluation pages: a school's report (学校积分评价) and the district's ranking of schools and resources,
each with its XLSX export. The figures come from plugins.points.reports; here only who may see what, and the
weekly trend drawn as an inline SVG (no script, no style attributes: the page's CSP allows neither)."""
from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from plugins.points import periods, reports
from plugins.points.views import bp
from reslib.extensions import db
from reslib.models import School
from reslib.models.base import as_id
from reslib.permissions import can
from reslib.services.tables import XLSX_MIMETYPE
from reslib.views import page_number
from reslib.views.library import send_export

BELOW_PAGE = 50  # people below their baseline listed a page at a time

# The trend chart's geometry, in SVG pixels: one column per week, one panel per series.
CHART_WEEK = 44
CHART_LEFT = 56
CHART_RIGHT = 24
CHART_PANEL = 110
CHART_HEADROOM = 18  # inside a panel, above its highest value: room for the value's label
CHART_TITLE = 34  # above each panel: its name and legend
CHART_AXIS = 40  # below the last panel: the weeks
CHART_MIN_WIDTH = 340


def _term() -> periods.Term:
    """The term asked for with ?term_id=, else the current one."""
    return reports.term_by_id(as_id(request.args.get("term_id"))) or periods.current_term()


def _school() -> School | None:
    """The school whose report is asked for: any school (?school_id=) for the district, none yet when it has
    not picked one; a school admin's own, refused when another is named."""
    asked = as_id(request.args.get("school_id"))
    if can(current_user, "district.manage"):
        if asked is None:
            return None
        school = db.session.get(School, asked)
        if school is None:
            abort(404)
        return school
    school = current_user.school
    if school is None or (asked is not None and asked != school.id):
        abort(403)
    if not can(current_user, "accounts.list", school):  # its admins only: the report names its pupils
        abort(403)
    return school


class ListPage:
    """A list shown a page at a time, with what the ``pager`` macro reads."""

    def __init__(self, items: list, page: int, per_page: int):
        self.total = len(items)
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(page, self.pages)
        self.items = items[(self.page - 1) * per_page:self.page * per_page]
        self.has_prev, self.has_next = self.page > 1, self.page < self.pages
        self.prev_num, self.next_num = self.page - 1, self.page + 1
        self.first = (self.page - 1) * per_page


def trend_chart(weeks: list) -> dict | None:
    """Where to draw the weekly trend: a panel for points (solid line, round markers) and one for uses (dashed
    line, square markers), each value written above its marker, weeks numbered below."""
    if not weeks:
        return None
    width = max(CHART_MIN_WIDTH, CHART_LEFT + CHART_RIGHT + CHART_WEEK * len(weeks))
    xs = [CHART_LEFT + CHART_WEEK * index + CHART_WEEK / 2 for index in range(len(weeks))]
    series = (("points", _("积分（实线，圆点）"), "", "circle"), ("uses", _("使用次数（虚线，方块）"), "6 4", "square"))
    panels = []
    top = CHART_TITLE
    for key, label, dash, marker in series:
        values = [getattr(week, key) for week in weeks]
        low, high = min(0, *values), max(1, *values)
        bottom = top + CHART_PANEL

        def y(value, top=top, low=low, high=high):
            plotted = CHART_PANEL - CHART_HEADROOM
            return round(top + CHART_PANEL - (value - low) * plotted / (high - low), 1)

        ticks = sorted({high, 0, low})
        panels.append({
            "label": label, "dash": dash, "marker": marker, "top": top, "bottom": bottom, "title_y": top - 14,
            "zero": y(0), "ticks": [(y(value), value) for value in ticks],
            "line": " ".join(f"{x:.1f},{y(value)}" for x, value in zip(xs, values)),
            "points": [(round(x, 1), y(value), value) for x, value in zip(xs, values)],
        })
        top = bottom + CHART_TITLE + 12
    axis_y = panels[-1]["bottom"] + 18
    return {"width": width, "height": axis_y + CHART_AXIS - 14, "left": CHART_LEFT, "right": width - CHART_RIGHT,
            "panels": panels, "weeks": [(round(x, 1), week.number) for x, week in zip(xs, weeks)],
            "axis_y": axis_y, "axis_title_y": axis_y + 18}


@bp.route("/school")
@login_required
def school():
    """A school's report for a term: its figures, who is below the baseline, what it used and contributed."""
    chosen = _school()
    term = _term()
    if chosen is None:  # the district has not picked a school yet
        return render_template("points/school.html", report=None, term=term, terms=reports.report_terms(),
                               schools=db.session.scalars(select(School).order_by(School.name)).all())
    report = reports.school_report(chosen, term)
    return render_template("points/school.html", report=report, term=term, terms=reports.report_terms(),
                           schools=db.session.scalars(select(School).order_by(School.name)).all()
                           if can(current_user, "district.manage") else [],
                           below=ListPage(report.below, page_number(), BELOW_PAGE), chart=trend_chart(report.trend))


@bp.route("/school/export")
@login_required
def school_export():
    chosen = _school()
    if chosen is None:
        return redirect(url_for("points.school"))
    term = _term()
    data = reports.school_export(current_user, chosen, term)
    return send_export(data, XLSX_MIMETYPE, f"points-{chosen.code or chosen.id}-{term.starts_on:%Y%m%d}.xlsx")


def _year() -> int | None:
    """The school year asked for with ?year=, if it is one the report knows; else None (this one)."""
    year = as_id(request.args.get("year"))
    return year if year in reports.school_years() else None


@bp.route("/district")
@login_required
def district():
    """The district's ranking of schools for a term, the resources' quality and the library's update rate."""
    if not can(current_user, "district.manage"):
        abort(403)
    term = _term()
    report = reports.district_report(term, _year())
    return render_template("points/district.html", report=report, term=term, terms=reports.report_terms(),
                           years=reports.school_years(), chart=trend_chart(report.trend))


@bp.route("/district/export")
@login_required
def district_export():
    if not can(current_user, "district.manage"):
        abort(403)
    term = _term()
    data = reports.district_export(current_user, term)
    return send_export(data, XLSX_MIMETYPE, f"points-ranking-{term.starts_on:%Y%m%d}.xlsx")
