"""The review workflow in the JSON API: submit, decisions, the panel, scores, the queues."""
from flask import abort, current_app, g, jsonify, request
from marshmallow import fields
from marshmallow.validate import Length, OneOf

from reslib.models.base import as_id
from reslib.models.library import GRADES, STATUSES
from reslib.permissions import can, require
from reslib.services import library, review
from reslib.views import page_number
from reslib.views.api.base import Body, Id, Number, bp, load_body, token_required

STAGES = {"school": (*review.SCHOOL_DECISIONS, "recommend", "withdraw"),
          "district": (*review.DISTRICT_DECISIONS, "withdraw")}

# Per metadata field (title, subject_id, …), what to change.
FieldComments = Body.from_dict({name: fields.String(validate=Length(max=review.FIELD_COMMENT_MAX))
                                for name in library.METADATA_FIELDS}, name="FieldComments")


class DecisionBody(Body):
    stage = fields.String(required=True, validate=OneOf(list(STAGES)))
    decision = fields.String(required=True, validate=OneOf(sorted(set(STAGES["school"] + STAGES["district"]))))
    comment = fields.String(allow_none=True, validate=Length(max=review.COMMENT_MAX), metadata={
        "description": "required to reject or withdraw; to return, a comment or field_comments"})
    field_comments = fields.Nested(FieldComments, metadata={"description": "with return only"})


class PanelBody(Body):
    reviewer_ids = fields.List(Id(), required=True, metadata={"description": "reviewers of other schools"})
    due = fields.Date(allow_none=True, metadata={"description": "default REVIEW_DAYS from today"})


class ScoresBody(Body):
    scores = fields.Dict(keys=fields.String(), values=Number(), required=True, metadata={
        "description": "each criterion of REVIEW_RUBRIC: points from 0 to its maximum"})
    comment = fields.String(allow_none=True, validate=Length(max=review.COMMENT_MAX))


# What review_json() answers.
REVIEW_STATE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)},
        "status_label": {"type": "string"},
        "status_reason": {"type": "string", "nullable": True, "description": "why returned, rejected or withdrawn"},
        "school_id": {"type": "integer", "nullable": True},
        "submitted_at": {"type": "string", "format": "date-time", "nullable": True},
        "review_due": {"type": "string", "format": "date", "nullable": True},
        "score": {"type": "number", "nullable": True, "description": "the panel's mean total, once published"},
        "grade": {"type": "string", "nullable": True, "enum": [*GRADES, None]},
        "panel": {
            "type": "object",
            "properties": {
                "assigned": {"type": "integer"},
                "scored": {"type": "integer"},
                "needed": {"type": "integer", "description": "REVIEW_PANEL_SIZE"},
                "mean": {"type": "number", "nullable": True, "description": "district admins only"},
                "grade": {"type": "string", "nullable": True, "description": "district admins only"},
                "disagreement": {"type": "boolean", "description": "district admins only"},
            },
        },
    },
}


# Whoever may take one of these steps on a resource may ask the decisions endpoint.
DECISION_ACTIONS = ("resource.review_school", "resource.recommend", "resource.decide", "resource.withdraw")


def review_json(resource, user) -> dict:
    """The review state; the panel's mean and grade only for the district (reviewers score blind)."""
    panel = review.panel_summary(resource)
    progress = {"assigned": len(panel.assignments), "scored": panel.scored, "needed": panel.needed}
    if user.has_role("district_admin"):
        progress.update(mean=panel.mean, grade=panel.grade, disagreement=panel.disagreement)
    return {
        "id": resource.id,
        "title": resource.title,
        "status": resource.status,
        "status_label": resource.status_label,
        "status_reason": resource.status_reason,
        "school_id": resource.school_id,
        "submitted_at": resource.submitted_at.isoformat() + "Z" if resource.submitted_at else None,
        "review_due": resource.review_due.isoformat() if resource.review_due else None,
        "score": resource.score,
        "grade": resource.grade,
        "panel": progress,
    }


@bp.route("/resources/<int:resource_id>/submit", methods=["POST"])
@token_required
def submit_resource(resource_id):
    """Send a draft (or a returned resource) to the school for review.
    ---
    post:
      summary: 提交学校审核（资源的上传者）
      security: [{bearerAuth: []}]
      parameters: [{name: resource_id, in: path, required: true, schema: {type: integer}}]
      responses:
        200:
          description: submitted
          content: {application/json: {schema: {$ref: '#/components/schemas/ReviewState'}}}
        403:
          description: "not the owner, or not a draft or returned resource"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        409:
          description: "the file is still being processed or failed; or another step on the same resource was taken at the same moment (code conflict): nothing of this one was kept"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        422:
          description: metadata missing; ``fields`` maps each field to its message
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
    """
    resource = library.get_resource(resource_id)
    review.submit(g.api_user, resource)
    return jsonify(review_json(resource, g.api_user))


@bp.route("/resources/<int:resource_id>/decisions", methods=["POST"])
@token_required
def decide_resource(resource_id):
    """A review decision: the school's (approve, approve_and_recommend, recommend, return, reject),
    the district's (publish, return, reject), or withdraw at either stage (the comment is the reason).
    ---
    post:
      summary: 审核结论（学校审核、区级评审、撤下）
      security: [{bearerAuth: []}]
      parameters: [{name: resource_id, in: path, required: true, schema: {type: integer}}]
      requestBody:
        required: true
        content:
          application/json: {schema: DecisionBody}
      responses:
        200:
          description: the resource's review state after the decision
          content: {application/json: {schema: {$ref: '#/components/schemas/ReviewState'}}}
        400:
          description: "a reason missing, a decision of the other stage, or a body that does not fit (code invalid_body)"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        403:
          description: not allowed at this stage
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        409:
          description: "publishing before the panel has scored, or with a failing grade; or another step on the same resource was taken at the same moment (code conflict): nothing of this one was kept"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
    """
    resource = library.get_resource(resource_id)
    if not any(can(g.api_user, action, resource) for action in DECISION_ACTIONS):
        abort(403)  # before reading the body: a refusal must not depend on what was sent
    body = load_body()
    stage, decision = body["stage"], body["decision"]
    comment, field_comments = body.get("comment") or "", body.get("field_comments")
    if decision == "withdraw":
        review.withdraw(g.api_user, resource, comment)
    elif stage == "school" and decision == "recommend":
        review.recommend(g.api_user, resource)
    elif stage == "school":
        review.school_decision(g.api_user, resource, decision, comment, field_comments)
    else:
        review.decide(g.api_user, resource, decision, comment, field_comments)
    return jsonify(review_json(resource, g.api_user))


@bp.route("/resources/<int:resource_id>/panel", methods=["POST"])
@token_required
def assign_panel(resource_id):
    """Add reviewers to the district panel of a resource in district review.
    ---
    post:
      summary: 指派区级评审专家
      security: [{bearerAuth: []}]
      parameters: [{name: resource_id, in: path, required: true, schema: {type: integer}}]
      requestBody:
        required: true
        content:
          application/json: {schema: PanelBody}
      responses:
        200:
          description: the resource's review state with its panel
          content: {application/json: {schema: {$ref: '#/components/schemas/ReviewState'}}}
        400:
          description: "a reviewer of the resource's own school, too few reviewers, a date past, or a body that does not fit (code invalid_body)"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        403:
          description: "not the district admin, or not in district review"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        409:
          description: "another step on the same resource was taken at the same moment (code conflict): nothing of this one was kept"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
    """
    resource = library.get_resource(resource_id)
    require(g.api_user, "resource.assign_panel", resource)
    body = load_body()
    review.assign_panel(g.api_user, resource, body["reviewer_ids"], body.get("due"))
    return jsonify(review_json(resource, g.api_user))


@bp.route("/resources/<int:resource_id>/scores", methods=["PUT"])
@token_required
def put_scores(resource_id):
    """A panel member's scores, one per rubric criterion; may be revised until the district decides.
    ---
    put:
      summary: 评审专家评分
      security: [{bearerAuth: []}]
      parameters: [{name: resource_id, in: path, required: true, schema: {type: integer}}]
      requestBody:
        required: true
        content:
          application/json: {schema: ScoresBody}
      responses:
        200:
          description: the scores as stored
          content:
            application/json:
              schema:
                type: object
                properties:
                  scores: {type: object, additionalProperties: {type: number}}
                  total: {type: number}
                  comment: {type: string}
                  scored_at: {type: string, format: date-time}
        403:
          description: "not on this resource's panel, or no longer in district review"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        409:
          description: "the district decided at the same moment (code conflict): the scores were not kept"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        422:
          description: a criterion missing or out of range; ``fields`` maps each criterion to its message
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
    """
    resource = library.get_resource(resource_id)
    require(g.api_user, "resource.score", resource)
    body = load_body()
    assignment = review.score(g.api_user, resource, body["scores"], body.get("comment") or "")
    return jsonify(scores=assignment.scores, total=assignment.total, comment=assignment.comment,
                   scored_at=assignment.scored_at.isoformat() + "Z")


@bp.route("/review/queue")
@token_required
def review_queue():
    """The review queues of the token's account, with counts.
    ---
    get:
      summary: 审核队列（学校审核、区级评审、我的评审任务）
      security: [{bearerAuth: []}]
      parameters:
        - name: stage
          in: query
          schema: {type: string, enum: [submitted, school_approved, needs_panel, ready, scoring, unscored, scored]}
        - {name: school_id, in: query, schema: {type: integer}}
        - {name: subject_id, in: query, schema: {type: integer}}
        - {name: page, in: query, schema: {type: integer, default: 1}, description: "每个环节的第几页"}
      responses:
        200:
          description: "counts per stage (todo: waiting for this account), and one page of each stage's items"
          content:
            application/json:
              schema:
                type: object
                properties:
                  counts: {type: object, additionalProperties: {type: integer}}
                  totals: {type: object, additionalProperties: {type: integer}, description: "每个环节符合筛选条件的条数"}
                  page: {type: integer}
                  per_page: {type: integer}
                  queues:
                    type: object
                    description: "school, district, reviewer: whichever this account works on; the page asked for of each of its stages, in stage order"
                    additionalProperties:
                      type: array
                      items:
                        type: object
                        properties:
                          resource: {$ref: '#/components/schemas/ReviewState'}
                          stage: {type: string}
                          due: {type: string, format: date, nullable: true}
                          overdue: {type: boolean}
        400:
          description: "a query value that does not fit the parameters above (code invalid, field names it)"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        403:
          description: "not a school admin, reviewer or district admin"
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
    """
    require(g.api_user, "review.queue")
    args = request.args
    page = page_number()
    queues = review.queues_for(g.api_user, stage=args.get("stage") or None, page=page,
                               school_id=args.get("school_id", type=as_id), subject_id=args.get("subject_id", type=as_id))
    return jsonify(
        counts=review.queue_counts(g.api_user),
        totals={stage: listed.total for pages in queues.values() for stage, listed in pages.items()},
        page=page, per_page=current_app.config["PAGE_SIZE"],
        queues={name: [{"resource": review_json(item.resource, g.api_user), "stage": item.stage,
                        "due": item.due.isoformat() if item.due else None, "overdue": item.overdue}
                       for listed in pages.values() for item in listed.items] for name, pages in queues.items()},
    )

# The OpenAPI components this module contributes (see spec.build_spec).
COMPONENTS = {"ReviewState": REVIEW_STATE_SCHEMA}
