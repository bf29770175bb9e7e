"""A competition at each stage, with judges from a third school, for the awards tests."""
import pytest

from plugins.awards import entries, judging, service
from plugins.awards.models import Entry
from reslib.extensions import db
from reslib.testing import add_resource


class Stage:
    """The district's people and a competition; helpers move it on the way the admin would."""

    def __init__(self, district, **settings):
        self.district = district
        self.admin = district.district_admin
        self.judge_c1 = district.user("judge.c1", {"teacher"}, district.school_c, real_name="赵评审")
        self.judge_c2 = district.user("judge.c2", {"teacher"}, district.school_c, real_name="钱评审")
        db.session.commit()
        self.competition = service.create_competition(self.admin, "2026 年度优秀微课评比", 2026, **settings)
        self.category = self.competition.categories[0]

    def open(self):
        service.set_status(self.admin, self.competition, "open")
        return self

    def enter(self, teacher, title, co_authors=()):
        resource = add_resource(teacher, title=title)
        return entries.enter(teacher, self.competition, resource, self.category, co_authors)

    def competition_entries(self):
        """The competition's entries, in the order they were made."""
        return db.session.query(Entry).filter_by(competition_id=self.competition.id).order_by(Entry.id).all()

    def judging(self, *judges):
        service.set_status(self.admin, self.competition, "judging")
        for judge in judges or (self.judge_c1, self.judge_c2):
            judging.add_judge(self.admin, self.competition, judge.username)
        return self

    def score(self, entry, *totals):
        """Each of the entry's judges gives ``total`` (spread over the rubric) in order."""
        for assignment, total in zip(entry.assignments, totals, strict=False):
            judging.submit_scores(assignment.judge, assignment, self.spread(total),
                                  ["评语"] * len(self.competition.rubric))

    def spread(self, total):
        """Points per criterion of the rubric adding up to ``total`` (0–100), each within its weight."""
        points, left = [], total
        for criterion in self.competition.rubric:
            given = min(criterion["weight"], left)
            points.append(str(given))
            left -= given
        return points


@pytest.fixture
def stage(district):
    return Stage(district)


@pytest.fixture
def blind_off_stage(district):
    made = Stage(district)
    service.update_settings(made.admin, made.competition, blind=False)
    return made
