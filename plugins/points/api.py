"""Points in the JSON API (/api/v1/points/…), documented in the OpenAPI document like the core's routes."""
from flask import Blueprint, g, jsonify

from plugins.points import service
from plugins.points.views import HISTORY_PAGE
from reslib.extensions import csrf
from reslib.views import page_number
from reslib.views.api.base import token_required

bp = Blueprint("points_api", __name__, url_prefix="/api/v1/points")
csrf.exempt(bp)


def standing_json(standing: service.Standing, current_id: int) -> dict:
    term = standing.term
    return {"term": {"id": term.id, "name": term.name, "starts_on": term.starts_on.isoformat(),
                     "ends_on": term.ends_on.isoformat()},
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
