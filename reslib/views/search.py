"""The search page and the search box's title suggestions."""
from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user, login_required

from reslib.services import search as searching
from reslib.views import page_number

bp = Blueprint("search", __name__)


@bp.before_request
@login_required
def _signed_in():
    """Searching is for signed-in accounts; the service asks the policy."""


@bp.route("/search")
def results():
    filters = searching.filters_from(request.args)
    page = searching.search(current_user, request.args.get("q", ""), filters=filters,
                            sort=request.args.get("sort", ""), page=page_number())
    return render_template("search/results.html", page=page, sort_urls=_sort_urls(page),
                           facet_url=_facet_url(page), search_url=_search_url)


def _search_url(**args) -> str:
    return url_for("search.results", **{name: value for name, value in args.items() if value})


def _sort_urls(page) -> dict[str, str]:
    sorts = searching.SORTS if page.q else searching.SORTS[1:]  # without a query there is no relevance
    return {sort: _search_url(q=page.q, **page.filters, sort=sort) for sort in sorts}


def _facet_url(page):
    def url(name: str, value: str | None) -> str:
        """This search with the filter ``name`` set to ``value`` (None: removed), from the first page."""
        filters = {**page.filters, name: value}
        if name == "section":  # a column belongs to its section
            filters.pop("column", None)
        return _search_url(q=page.q, **filters, sort=page.sort)

    return url


@bp.route("/search/suggest")
def suggest():
    """Titles for the search box (search.js), from what the user may find."""
    return jsonify(searching.suggest(current_user, request.args.get("q", "")))
