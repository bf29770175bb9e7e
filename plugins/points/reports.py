"""The evaluation reports: a school's report for a term (学校积分评价) and the district's ranking of schools, its
resource quality ranking and the library's annual update rate (年更新率).

They read only the running totals (``PersonTerm``, ``SchoolDay``, ``LineageTerm``) with the accounts, schools,
resources and ratings; never the usage events or the ledger, which grow without end.

Who is measured (参评): an active account of a school that is a teacher or a student (periods.role_of) and had
joined by the term's last day. Per-capita figures are the school's totals divided by how many are measured.

The district's ranking: for each school, contribution (贡献 = contribution points ÷ measured), use (使用 = uses ÷
measured) and the share at baseline (达标 = people at their baseline ÷ measured); each divided by the best
school's value (0..1); score = Σ weight × that, with the weights of the rule table in effect today.

Resource quality: a Bayesian average of the ratings, (C·m + Σ stars) ÷ (C + n), m the district's mean rating and
C = PRIOR_WEIGHT; a resource with few ratings is pulled toward the mean, so one 5-star rating does not top many
4.5s. Ties go to the resource used more over all terms.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from fractions import Fraction

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, select

from plugins.points import periods
from plugins.points import rules as rule_table
from plugins.points.models import LineageTerm, PersonTerm, SchoolDay
from reslib.extensions import db
from reslib.models import Rating, Resource, ReviewDecision, School, User
from reslib.models.accounts import ROLES, UserRole
from reslib.models.library import VISIBLE_STATUSES
from reslib.permissions import require
from reslib.services import audit
from reslib.services.monitoring import RENEWAL_TARGET
from reslib.services.tables import xlsx_bytes

PRIOR_WEIGHT = 5  # C: how many ratings at the district's mean every resource is assumed to have already
TOP_RESOURCES = 10
TOP_CONTRIBUTORS = 10
QUALITY_TOP = 20
RANKING_PARTS = ("contribution", "use", "baseline")
FIRST_SCHOOL_YEAR = 2000


# --- terms and school years ---------------------------------------------------------------------

def report_terms() -> list[periods.Term]:
    """The terms a report may be about: the current one and those before it, newest first."""
    current = periods.current_term()
    return [term for term in reversed(periods.terms()) if term.starts_on <= current.starts_on]


def term_by_id(term_id: int | None) -> periods.Term | None:
    if term_id is None:
        return None
    return next((term for term in periods.terms() if term.id == term_id), None)


def school_years() -> list[int]:
    """The school years an update rate may be asked for, newest first: from the first resource's to this one."""
    this_year = periods.school_year_of(periods.local_today())
    first = db.session.scalar(select(func.min(Resource.published_at)))
    first_year = periods.school_year_of(periods.local_day(first)) if first is not None else this_year
    first_year = max(FIRST_SCHOOL_YEAR, min(first_year, this_year))
    return list(range(this_year, first_year - 1, -1))


# --- the people measured and their standing ------------------------------------------------------

@dataclass(frozen=True)
class Member:
    """A measured person, as periods.role_of and periods.baseline_of read one (without loading the account)."""
    id: int
    school_id: int
    real_name: str
    username: str
    identifier: str | None
    roles: frozenset
    verified_at: object
    created_at: object

    def has_role(self, *roles) -> bool:
        return bool(self.roles.intersection(roles))

    @property
    def role(self) -> str | None:
        return periods.role_of(self)

    @property
    def role_label(self) -> str:
        return str(ROLES[self.role]) if self.role else ""


@dataclass(frozen=True)
class Standing:
    member: Member
    points: int
    contributed: int
    uses: int
    visits: int
    baseline: int

    @property
    def role(self) -> str:
        return self.member.role

    @property
    def reached(self) -> bool:
        return self.points >= self.baseline

    @property
    def short(self) -> int:
        """Points still missing to reach the baseline (0 once reached)."""
        return max(0, self.baseline - self.points)


def members(term: periods.Term, school_ids=None) -> list[Member]:
    """The people measured in the term: active teachers and students of a school who had joined by its end."""
    where = [User.status == "active", User.school_id.is_not(None)]
    if school_ids is not None:
        where.append(User.school_id.in_(list(school_ids)))
    roles = defaultdict(set)
    for user_id, role in db.session.execute(select(UserRole.user_id, UserRole.role)
                                            .join(User, User.id == UserRole.user_id).where(*where)):
        roles[user_id].add(role)
    found = []
    for row in db.session.execute(select(User.id, User.school_id, User.real_name, User.username, User.identifier,
                                         User.verified_at, User.created_at).where(*where)):
        member = Member(id=row.id, school_id=row.school_id, real_name=row.real_name, username=row.username,
                        identifier=row.identifier, roles=frozenset(roles.get(row.id, ())),
                        verified_at=row.verified_at, created_at=row.created_at)
        if member.role is not None and periods.local_day(member.verified_at or member.created_at) <= term.ends_on:
            found.append(member)
    return found


def standings(term: periods.Term, school_ids=None) -> list[Standing]:
    """Each measured person's points in the term against their baseline (baselines read once for all)."""
    people = members(term, school_ids)
    table = periods.baselines(term)
    totals = {}
    stmt = select(PersonTerm.user_id, PersonTerm.points, PersonTerm.contributed, PersonTerm.uses,
                  PersonTerm.visits).where(PersonTerm.term_id == term.id)
    if school_ids is not None:  # a person's row may name the school they were at before a transfer
        stmt = stmt.where(PersonTerm.user_id.in_(select(User.id).where(User.school_id.in_(list(school_ids)))))
    for user_id, points, contributed, uses, visits in db.session.execute(stmt):
        totals[user_id] = (points, contributed, uses, visits)
    found = []
    for member in people:
        baseline = periods.baseline_of(member, term, table)
        if baseline is None:
            continue
        points, contributed, uses, visits = totals.get(member.id, (0, 0, 0, 0))
        found.append(Standing(member=member, points=points, contributed=contributed, uses=uses, visits=visits,
                              baseline=baseline))
    return found


def below_baseline(school: School, term: periods.Term, people: list[Standing] | None = None) -> list[Standing]:
    """The school's measured people short of their baseline, the furthest first."""
    people = standings(term, [school.id]) if people is None else people
    return sorted((s for s in people if not s.reached), key=lambda s: (-s.short, s.member.real_name, s.member.username))


# --- a school's figures --------------------------------------------------------------------------

@dataclass
class Figures:
    """A school's totals in a term and its measured people's standing."""
    school_id: int
    learners: int = 0  # people of the school who used a resource
    visits: int = 0
    uses: int = 0
    points: int = 0
    contributed: int = 0
    measured: dict = field(default_factory=lambda: {role: 0 for role in periods.ROLES})
    reached: dict = field(default_factory=lambda: {role: 0 for role in periods.ROLES})

    @property
    def measured_total(self) -> int:
        return sum(self.measured.values())

    @property
    def reached_total(self) -> int:
        return sum(self.reached.values())

    def _per_capita(self, total) -> float | None:
        return total / self.measured_total if self.measured_total else None

    @property
    def points_per_capita(self) -> float | None:
        return self._per_capita(self.points)

    @property
    def contribution_per_capita(self) -> float | None:
        return self._per_capita(self.contributed)

    @property
    def uses_per_capita(self) -> float | None:
        return self._per_capita(self.uses)

    @property
    def baseline_share(self) -> float | None:
        """The share of the measured people at their baseline, 0..1; None when nobody is measured."""
        return self._per_capita(self.reached_total)

    def share(self, role: str) -> float | None:
        """The share of the school's teachers (or students) at their baseline."""
        return self.reached[role] / self.measured[role] if self.measured[role] else None


def school_figures(term: periods.Term, school_ids=None, people: list[Standing] | None = None) -> dict[int, Figures]:
    """{school id: Figures} for the term, every school asked for (all when ``school_ids`` is None)."""
    if school_ids is None:
        school_ids = list(db.session.scalars(select(School.id)))
    found = {school_id: Figures(school_id=school_id) for school_id in school_ids}
    if not found:
        return found
    rows = db.session.execute(
        select(PersonTerm.school_id, func.sum(case((PersonTerm.uses > 0, 1), else_=0)),
               func.coalesce(func.sum(PersonTerm.visits), 0), func.coalesce(func.sum(PersonTerm.uses), 0),
               func.coalesce(func.sum(PersonTerm.points), 0), func.coalesce(func.sum(PersonTerm.contributed), 0))
        .where(PersonTerm.term_id == term.id, PersonTerm.school_id.in_(list(found)))
        .group_by(PersonTerm.school_id))
    for school_id, learners, visits, uses, points, contributed in rows:
        figures = found[school_id]
        figures.learners, figures.visits, figures.uses = int(learners or 0), int(visits), int(uses)
        figures.points, figures.contributed = int(points), int(contributed)
    for standing in (standings(term, list(found)) if people is None else people):
        figures = found.get(standing.member.school_id)
        if figures is None:
            continue
        figures.measured[standing.role] += 1
        figures.reached[standing.role] += standing.reached
    return found


# --- what a school's people used and contributed --------------------------------------------------

@dataclass(frozen=True)
class UsedResource:
    lineage_id: int
    resource: Resource | None  # the version linked to: the newest one not superseded
    uses: int
    visits: int
    studies: int

    @property
    def title(self) -> str:
        return self.resource.title if self.resource is not None else ""


def _shown_versions(lineage_ids) -> dict[int, Resource]:
    """For each lineage, the version to show: the newest one in a library, else the newest not superseded."""
    best = {}
    for resource in db.session.scalars(select(Resource).where(Resource.lineage_id.in_(list(lineage_ids)))
                                       .order_by(Resource.id)):
        rank = (resource.status in VISIBLE_STATUSES, resource.status != "superseded", resource.id)
        if resource.lineage_id not in best or rank > best[resource.lineage_id][0]:
            best[resource.lineage_id] = (rank, resource)
    return {lineage_id: resource for lineage_id, (_rank, resource) in best.items()}


def top_resources(term: periods.Term, school_id: int | None = None, limit: int = TOP_RESOURCES) -> list[UsedResource]:
    """The most used resources in the term (those of a school, by its owner's school, when ``school_id``)."""
    stmt = select(LineageTerm).where(LineageTerm.term_id == term.id, LineageTerm.uses > 0)
    if school_id is not None:
        stmt = stmt.where(LineageTerm.school_id == school_id)
    rows = list(db.session.scalars(stmt.order_by(LineageTerm.uses.desc(), LineageTerm.studies.desc(),
                                                 LineageTerm.lineage_id).limit(limit)))
    shown = _shown_versions(row.lineage_id for row in rows)
    return [UsedResource(lineage_id=row.lineage_id, resource=shown.get(row.lineage_id), uses=row.uses,
                         visits=row.visits, studies=row.studies) for row in rows]


@dataclass(frozen=True)
class Contributor:
    user: User
    contributed: int
    points: int


def top_contributors(school: School, term: periods.Term, limit: int = TOP_CONTRIBUTORS) -> list[Contributor]:
    """The school's people with the most contribution points in the term."""
    rows = db.session.execute(select(User, PersonTerm.contributed, PersonTerm.points)
                              .join(User, User.id == PersonTerm.user_id)
                              .where(PersonTerm.term_id == term.id, PersonTerm.school_id == school.id,
                                     PersonTerm.contributed > 0)
                              .order_by(PersonTerm.contributed.desc(), User.real_name, User.id).limit(limit))
    return [Contributor(user=user, contributed=contributed, points=points) for user, contributed, points in rows]


# --- the weekly trend ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Week:
    number: int  # 1 for the term's first week
    starts_on: date
    ends_on: date
    points: int
    uses: int
    visits: int


def weekly_trend(term: periods.Term, school_id: int | None = None) -> list[Week]:
    """Points and uses week by week from the term's first day up to today (or its end); the district's when
    ``school_id`` is None. Weeks count from the term's first day."""
    last = min(term.ends_on, periods.local_today())
    if last < term.starts_on:
        return []
    stmt = (select(SchoolDay.day, func.sum(SchoolDay.points), func.sum(SchoolDay.uses), func.sum(SchoolDay.visits))
            .where(SchoolDay.day >= term.starts_on, SchoolDay.day <= last).group_by(SchoolDay.day))
    if school_id is not None:
        stmt = stmt.where(SchoolDay.school_id == school_id)
    weeks = (last - term.starts_on).days // 7 + 1
    sums = [[0, 0, 0] for _ in range(weeks)]
    for day, points, uses, visits in db.session.execute(stmt):
        row = sums[(day - term.starts_on).days // 7]
        row[0] += int(points or 0)
        row[1] += int(uses or 0)
        row[2] += int(visits or 0)
    return [Week(number=n + 1, starts_on=term.starts_on + timedelta(days=7 * n),
                 ends_on=min(term.ends_on, term.starts_on + timedelta(days=7 * n + 6)),
                 points=points, uses=uses, visits=visits) for n, (points, uses, visits) in enumerate(sums)]


# --- the school's report ------------------------------------------------------------------------

@dataclass
class SchoolReport:
    school: School
    term: periods.Term
    figures: Figures
    below: list[Standing]
    resources: list[UsedResource]
    contributors: list[Contributor]
    trend: list[Week]


def school_report(school: School, term: periods.Term) -> SchoolReport:
    people = standings(term, [school.id])
    figures = school_figures(term, [school.id], people)[school.id]
    return SchoolReport(school=school, term=term, figures=figures, below=below_baseline(school, term, people),
                        resources=top_resources(term, school.id), contributors=top_contributors(school, term),
                        trend=weekly_trend(term, school.id))


# --- the district's ranking of schools ----------------------------------------------------------

def weights_today() -> dict[str, float]:
    """The ranking's weights in the rule table in effect today."""
    weights = rule_table.version_on(periods.local_today()).rules["ranking"]
    return {part: float(weights.get(part, 0)) for part in RANKING_PARTS}


@dataclass
class RankedSchool:
    school: School
    figures: Figures
    values: dict  # part: the school's own figure (0 when nobody is measured)
    normalised: dict  # part: value ÷ the best school's value, 0..1
    score: float
    rank: int = 0


def ranking(term: periods.Term, weights: dict | None = None) -> list[RankedSchool]:
    """Every school ranked by score = Σ weight × normalised value, the best first; equal scores share a rank."""
    weights = weights_today() if weights is None else {part: float(weights.get(part, 0)) for part in RANKING_PARTS}
    schools = list(db.session.scalars(select(School).order_by(School.name)))
    figures = school_figures(term, [school.id for school in schools])
    rows = []
    for school in schools:
        f = figures[school.id]
        values = {"contribution": f.contribution_per_capita or 0.0, "use": f.uses_per_capita or 0.0,
                  "baseline": f.baseline_share or 0.0}
        rows.append(RankedSchool(school=school, figures=f, values=values, normalised={}, score=0.0))
    best = {part: max((row.values[part] for row in rows), default=0.0) for part in RANKING_PARTS}
    for row in rows:
        row.normalised = {part: row.values[part] / best[part] if best[part] > 0 else 0.0 for part in RANKING_PARTS}
        row.score = sum(weights[part] * row.normalised[part] for part in RANKING_PARTS)
    rows.sort(key=lambda row: (-round(row.score, 9), row.school.name))
    for index, row in enumerate(rows):
        tied = index and round(row.score, 9) == round(rows[index - 1].score, 9)
        row.rank = rows[index - 1].rank if tied else index + 1
    return rows


# --- the resources' quality ---------------------------------------------------------------------

@dataclass(frozen=True)
class RatedResource:
    resource: Resource
    ratings: int
    stars: int  # their sum
    score: Fraction  # the Bayesian average
    uses: int  # over all terms
    rank: int

    @property
    def mean(self) -> float:
        return self.stars / self.ratings


@dataclass(frozen=True)
class QualityRanking:
    mean: float | None  # m: the district's mean rating
    prior_weight: int  # C
    resources: list[RatedResource]


def quality_ranking(limit: int = QUALITY_TOP, prior_weight: int = PRIOR_WEIGHT) -> QualityRanking:
    """The rated resources in a library, best first by (C·m + Σ stars) ÷ (C + n), ties to the more used."""
    in_library = select(Resource.lineage_id).where(Resource.status.in_(VISIBLE_STATUSES))
    rated = {lineage_id: (int(n), int(stars)) for lineage_id, n, stars in db.session.execute(
        select(Rating.lineage_id, func.count(), func.sum(Rating.stars))
        .where(Rating.lineage_id.in_(in_library)).group_by(Rating.lineage_id))}
    all_ratings = sum(n for n, _stars in rated.values())
    if not all_ratings:
        return QualityRanking(mean=None, prior_weight=prior_weight, resources=[])
    all_stars = sum(stars for _n, stars in rated.values())
    uses = dict(db.session.execute(select(LineageTerm.lineage_id, func.sum(LineageTerm.uses))
                                   .where(LineageTerm.lineage_id.in_(in_library))
                                   .group_by(LineageTerm.lineage_id)).all())
    prior = Fraction(prior_weight * all_stars, all_ratings)  # C·m, exactly, so equal scores compare equal

    def score(n, stars):
        return (prior + stars) / (prior_weight + n)

    order = sorted(rated, key=lambda line: (-score(*rated[line]), -int(uses.get(line) or 0), line))[:limit]
    shown = _shown_versions(order)
    found = []
    for lineage_id in order:
        n, stars = rated[lineage_id]
        found.append(RatedResource(resource=shown[lineage_id], ratings=n, stars=stars, score=score(n, stars),
                                   uses=int(uses.get(lineage_id) or 0), rank=len(found) + 1))
    return QualityRanking(mean=all_stars / all_ratings, prior_weight=prior_weight, resources=found)


# --- the library's annual update rate -----------------------------------------------------------

@dataclass(frozen=True)
class UpdateRate:
    year: int  # the school year's first calendar year
    at_start: int  # resources in a library on its first day
    entered: int  # resources (new ones and new versions) that entered a library during it
    target: float = RENEWAL_TARGET

    @property
    def starts_on(self) -> date:
        return date(self.year, *periods.AUTUMN)

    @property
    def ends_on(self) -> date:
        return date(self.year + 1, *periods.AUTUMN) - timedelta(days=1)

    @property
    def rate(self) -> float | None:
        return self.entered / self.at_start if self.at_start else None

    @property
    def met(self) -> bool:
        return self.rate is not None and self.rate >= self.target


def update_rate(year: int | None = None) -> UpdateRate:
    """年更新率 of the school year (1 September to 31 August): what entered a library during it (in one still, or
    since replaced by a newer version) ÷ what was in a library at its start (in one now, or since withdrawn or
    replaced, but only after that day)."""
    year = periods.school_year_of(periods.local_today()) if year is None else year
    start, end = periods.utc_start(date(year, *periods.AUTUMN)), periods.utc_start(date(year + 1, *periods.AUTUMN))
    entered = db.session.scalar(select(func.count(Resource.id)).where(
        Resource.published_at >= start, Resource.published_at < end,
        Resource.status.in_((*VISIBLE_STATUSES, "superseded"))))
    left_before = exists().where(ReviewDecision.resource_id == Resource.id,
                                 ReviewDecision.to_status.in_(("superseded", "withdrawn")), ReviewDecision.at < start)
    at_start = db.session.scalar(select(func.count(Resource.id)).where(
        Resource.published_at < start, Resource.status.in_((*VISIBLE_STATUSES, "superseded", "withdrawn")),
        ~left_before))
    return UpdateRate(year=year, at_start=at_start or 0, entered=entered or 0)


# --- the district's report ----------------------------------------------------------------------

@dataclass
class DistrictReport:
    term: periods.Term
    weights: dict
    schools: list[RankedSchool]
    quality: QualityRanking
    update_rate: UpdateRate
    trend: list[Week]


def district_report(term: periods.Term, year: int | None = None) -> DistrictReport:
    weights = weights_today()
    return DistrictReport(term=term, weights=weights, schools=ranking(term, weights), quality=quality_ranking(),
                          update_rate=update_rate(year), trend=weekly_trend(term))


# --- exports ------------------------------------------------------------------------------------

def _percent(share: float | None) -> str:
    return "" if share is None else f"{share * 100:.1f}%"


def _round(value: float | None, digits: int = 2):
    return "" if value is None else round(value, digits)


def school_export(actor, school: School, term: periods.Term) -> bytes:
    """The school's report as XLSX: every measured person's figures, then its most used resources. It names
    pupils, so only for the school's admins and the district, and audited."""
    require(actor, "accounts.export", school)
    people = sorted(standings(term, [school.id]),
                    key=lambda s: (s.role != "teacher", s.member.real_name, s.member.username))
    header = [_("姓名"), _("用户名"), _("学号/工号"), _("身份"), _("积分"), _("其中贡献积分"), _("使用次数"),
              _("浏览次数"), _("基本分值"), _("是否达标"), _("还差（分）")]
    rows = [[s.member.real_name, s.member.username, s.member.identifier or "", s.member.role_label, s.points,
             s.contributed, s.uses, s.visits, s.baseline, _("已达标") if s.reached else _("未达标"), s.short]
            for s in people]
    rows += [[], [_("本校使用最多的资源")], [_("排名"), _("资源"), _("使用次数"), _("浏览次数"), _("学习次数")]]
    rows += [[n, used.title, used.uses, used.visits, used.studies]
             for n, used in enumerate(top_resources(term, school.id), start=1)]
    audit.record("points.exported", actor=actor, target=f"school:{school.id}", school_id=school.id,
                 detail=_l("学校积分评价 Excel：%(school)s，%(term)s，%(n)s 人", school=school.name, term=term.name,
                           n=len(people)))
    db.session.commit()
    return xlsx_bytes(_("%(school)s积分评价", school=school.name), header, rows)


def district_export(actor, term: periods.Term) -> bytes:
    """The district's ranking of schools as XLSX, then the resource quality ranking; audited."""
    require(actor, "district.manage")
    report = district_report(term)
    header = [_("排名"), _("学校"), _("参评人数"), _("人均贡献积分"), _("人均使用次数"), _("达标率"),
              _("贡献指数"), _("使用指数"), _("达标指数"), _("得分")]
    rows = [[row.rank, row.school.name, row.figures.measured_total, _round(row.figures.contribution_per_capita),
             _round(row.figures.uses_per_capita), _percent(row.figures.baseline_share),
             _round(row.normalised["contribution"], 3), _round(row.normalised["use"], 3),
             _round(row.normalised["baseline"], 3), _round(row.score, 3)] for row in report.schools]
    rows += [[], [_("资源质量排名")], [_("排名"), _("资源"), _("学校"), _("评分人数"), _("平均星级"), _("质量得分"),
                                  _("累计使用次数")]]
    rows += [[rated.rank, rated.resource.title, rated.resource.school.name if rated.resource.school else "",
              rated.ratings, round(rated.mean, 2), round(float(rated.score), 3), rated.uses]
             for rated in report.quality.resources]
    audit.record("points.exported", actor=actor, target="district",
                 detail=_l("学校积分排名 Excel：%(term)s，%(n)s 所学校", term=term.name, n=len(report.schools)))
    db.session.commit()
    return xlsx_bytes(_("积分排名"), header, rows)
