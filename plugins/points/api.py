"""Points in the JSON API (/api/v1/points/…), documented in the OpenAPI document like the core's routes."""
from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from plugins.points import periods, reports, service
from plugins.points.views import HISTORY_PAGE
from reslib.errors import ReslibError
from reslib.extensions import csrf, db
from reslib.models import School
from reslib.models.base import as_id
from reslib.permissions import can
from reslib.views import page_number
from reslib.views.api.base import token_required

bp = Blueprint("points_api", __name__, url_prefix="/api/v1/points")
csrf.exempt(bp)


DIGITS = 4  # the reports' shares, per-capita figures, indexes and scores are rounded to this many decimals


def term_json(term: periods.Term) -> dict:
    return {"id": term.id, "name": term.name, "starts_on": term.starts_on.isoformat(),
            "ends_on": term.ends_on.isoformat()}


def standing_json(standing: service.Standing, current_id: int) -> dict:
    term = standing.term
    return {"term": term_json(term),
            "total": standing.total, "baseline": standing.baseline, "reached": standing.reached,
            "percent": standing.percent, "current": term.id == current_id}


def entry_json(entry) -> dict:
    return {"occurred_at": entry.occurred_at.isoformat() + "Z", "amount": entry.amount, "kind": entry.kind,
            "kind_label": entry.kind_label, "reason": entry.reason}


@bp.route("/me", endpoint="me")
@token_required
def me():
    """The account's points in the current term and in each past term it has points in, against its baseline.
    ---
    get:
      summary: 我的积分：本学期和以往各学期的积分、基本分值和是否达标
      security: [{bearerAuth: []}]
      responses:
        200:
          description: the current term first, then the past ones, newest first
          content:
            application/json:
              schema:
                type: object
                required: [balance, terms]
                properties:
                  balance: {type: integer, description: 本学期的积分}
                  terms:
                    type: array
                    items:
                      type: object
                      required: [term, total, baseline, reached, percent, current]
                      properties:
                        term:
                          type: object
                          required: [id, name, starts_on, ends_on]
                          properties:
                            id: {type: integer}
                            name: {type: string}
                            starts_on: {type: string, format: date}
                            ends_on: {type: string, format: date, description: 学期的最后一天（含）}
                        total: {type: integer, description: 这个学期的积分}
                        baseline: {type: integer, nullable: true, description: 基本分值（学期中途加入的按天数折算）；没有身份要求的为 null}
                        reached: {type: boolean, description: 是否达到基本分值}
                        percent: {type: integer, minimum: 0, maximum: 100, description: 距基本分值的进度（百分比）}
                        current: {type: boolean, description: 是否为本学期}
    """
    standings = service.standings(g.api_user)
    current = standings[0]  # the current term is always there, first
    return jsonify(balance=current.total, terms=[standing_json(standing, current.term.id) for standing in standings])


@bp.route("/me/history", endpoint="history")
@token_required
def history():
    """The account's point entries, newest first, a page at a time.
    ---
    get:
      summary: 我的积分记录：每一笔积分的时间、分值、来源和说明，最新的在前
      security: [{bearerAuth: []}]
      parameters:
        - {in: query, name: page, schema: {type: integer, default: 1}}
      responses:
        200:
          description: one page of the account's entries
          content:
            application/json:
              schema:
                type: object
                required: [items, total, page, pages]
                properties:
                  items:
                    type: array
                    items:
                      type: object
                      required: [occurred_at, amount, kind, kind_label, reason]
                      properties:
                        occurred_at: {type: string, format: date-time, description: 得分的时间（UTC）}
                        amount: {type: integer, description: 分值；扣分、更正和收回为负数}
                        kind: {type: string, description: "来源：manual、study、view、download、rate、share、contribute、prize"}
                        kind_label: {type: string, description: 来源的名称}
                        reason: {type: string, description: 说明}
                  total: {type: integer}
                  page: {type: integer}
                  pages: {type: integer}
    """
    page = service.history(g.api_user, page=page_number(), per_page=HISTORY_PAGE)
    return jsonify(items=[entry_json(entry) for entry in page.items], total=page.total, page=page.page,
                   pages=page.pages or 1)


# --- the evaluation reports ---------------------------------------------------------------------

def _report_term() -> periods.Term:
    """The term asked for with ?term_id=, else the current one: as on the report pages, an id that names no term
    answers about the current term (the answer's ``term`` says which). A term_id that is no id at all is refused
    (400) by the document's check, like every query value of this API."""
    return reports.term_by_id(as_id(request.args.get("term_id"))) or periods.current_term()


def _rounded(value) -> float | None:
    return None if value is None else round(float(value), DIGITS)


def school_json(school: School) -> dict:
    return {"id": school.id, "name": school.name}


def figures_json(figures: reports.Figures) -> dict:
    return {"learners": figures.learners, "visits": figures.visits, "uses": figures.uses, "points": figures.points,
            "contributed": figures.contributed, "measured_total": figures.measured_total,
            "reached_total": figures.reached_total,
            "measured": {role: int(figures.measured[role]) for role in periods.ROLES},
            "reached": {role: int(figures.reached[role]) for role in periods.ROLES},
            "shares": {role: _rounded(figures.share(role)) for role in periods.ROLES},
            "baseline_share": _rounded(figures.baseline_share),
            "points_per_capita": _rounded(figures.points_per_capita),
            "contribution_per_capita": _rounded(figures.contribution_per_capita),
            "uses_per_capita": _rounded(figures.uses_per_capita)}


def below_json(standing: reports.Standing) -> dict:
    member = standing.member
    return {"id": member.id, "real_name": member.real_name, "username": member.username, "role": standing.role,
            "role_label": member.role_label, "points": standing.points, "baseline": standing.baseline,
            "short": standing.short}


def used_json(used: reports.UsedResource) -> dict:
    return {"id": used.resource.id if used.resource is not None else None, "lineage_id": used.lineage_id,
            "title": used.title, "uses": used.uses, "visits": used.visits, "studies": used.studies}


def contributor_json(contributor: reports.Contributor) -> dict:
    user = contributor.user
    return {"id": user.id, "real_name": user.real_name, "username": user.username,
            "contributed": contributor.contributed, "points": contributor.points}


def week_json(week: reports.Week) -> dict:
    return {"number": week.number, "starts_on": week.starts_on.isoformat(), "ends_on": week.ends_on.isoformat(),
            "points": week.points, "uses": week.uses, "visits": week.visits}


@bp.route("/schools/<int:school_id>/report", endpoint="school_report")
@token_required
def school_report(school_id):
    """A school's report for a term, as on the page /points/school: its figures, who is below the baseline (by
    name: the school's admins and the district only), what its resources were used and who contributed most.
    ---
    get:
      summary: 学校积分评价：某学期本校的总体情况、各身份达标率、未达标师生名单、使用最多的资源、贡献积分排行和每周趋势（仅本校管理员和区教育局）
      security: [{bearerAuth: []}]
      parameters:
        - {in: path, name: school_id, required: true, schema: {type: integer}}
        - {in: query, name: term_id, schema: {type: integer}, description: 学期编号；不带或没有这个学期时为本学期（与网页相同），回答中的 term 为实际所用的学期}
      responses:
        200:
          description: "the school's report; shares and per-capita figures are rounded to 4 decimals, and null when nobody (of that role) is measured"
          content:
            application/json:
              schema:
                type: object
                required: [term, school, figures, below, resources, contributors, trend]
                properties:
                  term:
                    type: object
                    required: [id, name, starts_on, ends_on]
                    properties:
                      id: {type: integer}
                      name: {type: string}
                      starts_on: {type: string, format: date}
                      ends_on: {type: string, format: date, description: 学期的最后一天（含）}
                  school:
                    type: object
                    required: [id, name]
                    properties: {id: {type: integer}, name: {type: string}}
                  figures:
                    type: object
                    required: [learners, visits, uses, points, contributed, measured_total, reached_total, measured, reached, shares, baseline_share, points_per_capita, contribution_per_capita, uses_per_capita]
                    properties:
                      learners: {type: integer, description: 使用过资源的本校人数}
                      visits: {type: integer, description: 浏览次数}
                      uses: {type: integer, description: 使用次数（含浏览和下载）}
                      points: {type: integer, description: 积分合计}
                      contributed: {type: integer, description: 其中贡献积分}
                      measured_total: {type: integer, description: 参评师生人数}
                      reached_total: {type: integer, description: 达到基本分值的人数}
                      measured:
                        type: object
                        description: 各身份的参评人数
                        required: [teacher, student]
                        properties: {teacher: {type: integer}, student: {type: integer}}
                        additionalProperties: false
                      reached:
                        type: object
                        description: 各身份达到基本分值的人数
                        required: [teacher, student]
                        properties: {teacher: {type: integer}, student: {type: integer}}
                        additionalProperties: false
                      shares:
                        type: object
                        description: 各身份的达标率（0–1）；没有参评的人时为 null
                        required: [teacher, student]
                        properties:
                          teacher: {type: number, nullable: true, minimum: 0, maximum: 1}
                          student: {type: number, nullable: true, minimum: 0, maximum: 1}
                        additionalProperties: false
                      baseline_share: {type: number, nullable: true, minimum: 0, maximum: 1, description: 达标率（0–1）}
                      points_per_capita: {type: number, nullable: true, description: 人均积分}
                      contribution_per_capita: {type: number, nullable: true, description: 人均贡献积分}
                      uses_per_capita: {type: number, nullable: true, description: 人均使用次数}
                  below:
                    type: array
                    description: 未达到基本分值的师生，差得最多的在前
                    items:
                      type: object
                      required: [id, real_name, username, role, role_label, points, baseline, short]
                      properties:
                        id: {type: integer}
                        real_name: {type: string}
                        username: {type: string}
                        role: {type: string, enum: [teacher, student]}
                        role_label: {type: string, description: 身份的名称}
                        points: {type: integer, description: 本学期的积分}
                        baseline: {type: integer, description: 基本分值（学期中途加入的按天数折算）}
                        short: {type: integer, minimum: 1, description: 还差的分数}
                  resources:
                    type: array
                    description: 本校教师的资源在本学期被全区使用最多的（最多 10 个）
                    items:
                      type: object
                      required: [id, lineage_id, title, uses, visits, studies]
                      properties:
                        id: {type: integer, nullable: true, description: 所显示的版本（最新的在库版本）}
                        lineage_id: {type: integer, description: 资源各版本共有的编号}
                        title: {type: string}
                        uses: {type: integer}
                        visits: {type: integer}
                        studies: {type: integer, description: 学习次数}
                  contributors:
                    type: array
                    description: 本学期贡献积分最多的本校师生（最多 10 人）
                    items:
                      type: object
                      required: [id, real_name, username, contributed, points]
                      properties:
                        id: {type: integer}
                        real_name: {type: string}
                        username: {type: string}
                        contributed: {type: integer, description: 贡献积分}
                        points: {type: integer, description: 本学期的积分}
                  trend:
                    type: array
                    description: 从学期第一天到今天（或学期结束）每周的积分、使用和浏览次数
                    items:
                      type: object
                      required: [number, starts_on, ends_on, points, uses, visits]
                      properties:
                        number: {type: integer, minimum: 1, description: 学期第几周}
                        starts_on: {type: string, format: date}
                        ends_on: {type: string, format: date}
                        points: {type: integer}
                        uses: {type: integer}
                        visits: {type: integer}
        403: {description: "neither an admin of this school nor the district's (code forbidden)", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        404: {description: "no school has that school_id (code not_found)", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    school = db.session.get(School, school_id)
    if school is None:
        raise ReslibError(_("没有这个学校"), code="not_found", status=404)
    if not can(g.api_user, "accounts.list", school):  # its admins and the district: the report names its pupils
        raise ReslibError(_("只有本校管理员和区教育局可以查看学校积分评价"), code="forbidden", status=403)
    report = reports.school_report(school, _report_term())
    return jsonify(term=term_json(report.term), school=school_json(school), figures=figures_json(report.figures),
                   below=[below_json(standing) for standing in report.below],
                   resources=[used_json(used) for used in report.resources],
                   contributors=[contributor_json(contributor) for contributor in report.contributors],
                   trend=[week_json(week) for week in report.trend])


def ranked_json(row: reports.RankedSchool) -> dict:
    return {"rank": row.rank, "school": school_json(row.school), "score": _rounded(row.score),
            "indexes": {part: _rounded(row.normalised[part]) for part in reports.RANKING_PARTS},
            "figures": figures_json(row.figures)}


def rated_json(rated: reports.RatedResource) -> dict:
    resource = rated.resource
    return {"rank": rated.rank, "id": resource.id, "lineage_id": resource.lineage_id, "title": resource.title,
            "school": school_json(resource.school) if resource.school is not None else None,
            "ratings": rated.ratings, "mean": _rounded(rated.mean), "score": _rounded(rated.score),
            "uses": rated.uses}


def quality_json(quality: reports.QualityRanking) -> dict:
    return {"mean": _rounded(quality.mean), "prior_weight": quality.prior_weight,
            "resources": [rated_json(rated) for rated in quality.resources]}


def update_rate_json(rate: reports.UpdateRate) -> dict:
    return {"year": rate.year, "starts_on": rate.starts_on.isoformat(), "ends_on": rate.ends_on.isoformat(),
            "at_start": rate.at_start, "entered": rate.entered, "rate": _rounded(rate.rate),
            "target": float(rate.target), "met": rate.met}


@bp.route("/district/ranking", endpoint="district_ranking")
@token_required
def district_ranking():
    """The district's ranking of schools for a term, the resources' quality ranking and this school year's update
    rate, as on the page /points/district (the district admin only).
    ---
    get:
      summary: 积分排名：某学期各校的排名、得分、各项数值和指数，资源质量排名和本学年的资源库年更新率（仅区教育局管理员）
      security: [{bearerAuth: []}]
      parameters:
        - {in: query, name: term_id, schema: {type: integer}, description: 学期编号；不带或没有这个学期时为本学期（与网页相同），回答中的 term 为实际所用的学期}
      responses:
        200:
          description: "the ranking; scores, indexes, shares and per-capita figures are rounded to 4 decimals"
          content:
            application/json:
              schema:
                type: object
                required: [term, weights, schools, quality, update_rate]
                properties:
                  term:
                    type: object
                    required: [id, name, starts_on, ends_on]
                    properties:
                      id: {type: integer}
                      name: {type: string}
                      starts_on: {type: string, format: date}
                      ends_on: {type: string, format: date, description: 学期的最后一天（含）}
                  weights:
                    type: object
                    description: 今天生效的积分规则中的权重：得分 = Σ 权重 × 指数
                    required: [contribution, use, baseline]
                    properties: {contribution: {type: number}, use: {type: number}, baseline: {type: number}}
                    additionalProperties: false
                  schools:
                    type: array
                    description: 每所学校，得分最高的在前
                    items:
                      type: object
                      required: [rank, school, score, indexes, figures]
                      properties:
                        rank: {type: integer, minimum: 1, description: 名次；得分相同的学校名次相同}
                        school:
                          type: object
                          required: [id, name]
                          properties: {id: {type: integer}, name: {type: string}}
                        score: {type: number, description: 得分}
                        indexes:
                          type: object
                          description: 贡献、使用、达标指数：本校的数值 ÷ 全区最高的学校的数值（0–1）
                          required: [contribution, use, baseline]
                          properties:
                            contribution: {type: number, minimum: 0, maximum: 1}
                            use: {type: number, minimum: 0, maximum: 1}
                            baseline: {type: number, minimum: 0, maximum: 1}
                          additionalProperties: false
                        figures:
                          type: object
                          required: [learners, visits, uses, points, contributed, measured_total, reached_total, measured, reached, shares, baseline_share, points_per_capita, contribution_per_capita, uses_per_capita]
                          properties:
                            learners: {type: integer, description: 使用过资源的本校人数}
                            visits: {type: integer, description: 浏览次数}
                            uses: {type: integer, description: 使用次数（含浏览和下载）}
                            points: {type: integer, description: 积分合计}
                            contributed: {type: integer, description: 其中贡献积分}
                            measured_total: {type: integer, description: 参评人数}
                            reached_total: {type: integer, description: 达到基本分值的人数}
                            measured:
                              type: object
                              description: 各身份的参评人数
                              required: [teacher, student]
                              properties: {teacher: {type: integer}, student: {type: integer}}
                              additionalProperties: false
                            reached:
                              type: object
                              description: 各身份达到基本分值的人数
                              required: [teacher, student]
                              properties: {teacher: {type: integer}, student: {type: integer}}
                              additionalProperties: false
                            shares:
                              type: object
                              description: 各身份的达标率（0–1）；没有参评的人时为 null
                              required: [teacher, student]
                              properties:
                                teacher: {type: number, nullable: true, minimum: 0, maximum: 1}
                                student: {type: number, nullable: true, minimum: 0, maximum: 1}
                              additionalProperties: false
                            baseline_share: {type: number, nullable: true, minimum: 0, maximum: 1, description: 达标率（0–1）}
                            points_per_capita: {type: number, nullable: true, description: 人均积分}
                            contribution_per_capita: {type: number, nullable: true, description: 人均贡献积分}
                            uses_per_capita: {type: number, nullable: true, description: 人均使用次数}
                  quality:
                    type: object
                    description: 资源质量排名：质量得分 = (C × m + 全部星级之和) ÷ (C + 评分人数)
                    required: [mean, prior_weight, resources]
                    properties:
                      mean: {type: number, nullable: true, description: m：全区资源的平均评分；还没有评分时为 null}
                      prior_weight: {type: integer, description: C}
                      resources:
                        type: array
                        description: 区级库和校本库中有评分的资源，质量得分最高的在前（最多 20 个）
                        items:
                          type: object
                          required: [rank, id, lineage_id, title, school, ratings, mean, score, uses]
                          properties:
                            rank: {type: integer, minimum: 1}
                            id: {type: integer, description: 所显示的版本}
                            lineage_id: {type: integer}
                            title: {type: string}
                            school:
                              type: object
                              nullable: true
                              description: 资源所属学校；区教育局的资源为 null
                              required: [id, name]
                              properties: {id: {type: integer}, name: {type: string}}
                            ratings: {type: integer, description: 评分人数}
                            mean: {type: number, description: 平均星级}
                            score: {type: number, description: 质量得分}
                            uses: {type: integer, description: 累计使用次数}
                  update_rate:
                    type: object
                    description: 本学年（9 月 1 日至次年 8 月 31 日）的资源库年更新率 = entered ÷ at_start
                    required: [year, starts_on, ends_on, at_start, entered, rate, target, met]
                    properties:
                      year: {type: integer, description: 学年的第一个年份}
                      starts_on: {type: string, format: date}
                      ends_on: {type: string, format: date}
                      at_start: {type: integer, description: 学年开始时区级库和校本库中的资源}
                      entered: {type: integer, description: 学年中进入区级库或校本库的资源（含新版本）}
                      rate: {type: number, nullable: true, description: 年更新率；学年开始时还没有资源时为 null}
                      target: {type: number, description: 目标（不低于）}
                      met: {type: boolean, description: 是否达到目标}
        403: {description: "not the district admin (code forbidden)", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    if not can(g.api_user, "district.manage"):
        raise ReslibError(_("只有区教育局管理员可以查看积分排名"), code="forbidden", status=403)
    term = _report_term()
    weights = reports.weights_today()
    return jsonify(term=term_json(term), weights={part: float(weights[part]) for part in reports.RANKING_PARTS},
                   schools=[ranked_json(row) for row in reports.ranking(term, weights)],
                   quality=quality_json(reports.quality_ranking()), update_rate=update_rate_json(reports.update_rate()))
