"""Sequences the Hypothesis state machine over the points engine found where the live path and a recompute
disagreed, shrunk by hand: what the live path decided about a use and what a recompute decides about it must
agree, whatever changed between the two (a retried crediting, a rule saved during its first day, a comment added
to a rating minutes later)."""
import pytest

from plugins.points import earning, periods, recompute, rules
from plugins.points.models import PersonTerm
from reslib.extensions import db
from reslib.services import library, usage
from reslib.testing import add_resource


@pytest.fixture
def document(district):
    resource = add_resource(district.teacher_a, title="勾股定理讲义")
    library.changed(resource, "published", district.district_admin)
    return resource


def missing_or_different() -> list:
    return recompute.recompute(check=True).differences


def test_a_retried_crediting_of_a_view_counts_the_view_once(district, document):
    event = usage.record(district.student_b, document, "view")
    earning.credit_usage(event)  # the worker again, after a lost acknowledgement
    assert db.session.get(PersonTerm, (district.student_b.id, periods.current_term().id)).uses == 1
    assert missing_or_different() == []


def test_a_rule_change_from_today_agrees_with_a_recompute(district, document):
    def new_version(**caps):  # as the rules page saves one, from today (its default day)
        table = {**rules.version_on(periods.local_today()).rules,
                 "daily_caps": {**rules.DEFAULT_RULES["daily_caps"], **caps}}
        rules.save_version(district.district_admin, table, periods.local_today(), "")

    new_version(view=0)
    usage.record(district.student_b, document, "view")  # over today's cap: nothing
    new_version(view=20)
    assert missing_or_different() == []


def test_a_comment_added_soon_after_a_bare_rating_agrees_with_a_recompute(district, document):
    usage.rate(district.student_b, document, 4)  # a bare rating: nothing
    usage.rate(district.student_b, document, 5, "讲得很清楚")  # its comment, a minute later: no new usage event
    assert missing_or_different() == []
