"""The libraries in the JSON API: list with filters and sorting, one resource, its download, one's rating."""
from flask import g, jsonify, request, url_for
from marshmallow import fields
from marshmallow.validate import Length, Range

from reslib.models.base import as_id
from reslib.models.library import KINDS, STATUSES
from reslib.permissions import can, require
from reslib.services import browse as browsing
from reslib.services import library, search, usage
from reslib.views import page_number
from reslib.views.api.base import PROCESSING_SCHEMA, Body, bp, load_body, token_required
from reslib.views.library import download_response, preview_kind


def _term(term) -> dict | None:
    return {"id": term.id, "name": term.name} if term else None


def links_json(resource) -> dict:
    """Where to find the resource and its files (the web routes need a browser session, the api ones a token)."""
    links = {"page": url_for("library.resource", resource_id=resource.id),
             "api": url_for("api.resource", resource_id=resource.id)}
    if resource.file_sha256:
        links["download"] = url_for("library.download", resource_id=resource.id)
        links["api_download"] = url_for("api.resource_download", resource_id=resource.id)
    if preview_kind(resource):
        links["preview"] = url_for("library.preview", resource_id=resource.id)
    for name, sha in (("cover", resource.cover_sha256), ("thumb", resource.thumb_sha256)):
        if sha:
            links[name] = url_for(f"library.{name}", resource_id=resource.id, v=sha[:12])
    return links


def card_json(card: browsing.Card) -> dict:
    r = card.resource
    return {
        "id": r.id, "title": r.title, "status": r.status, "kind": r.kind, "form": _term(r.form),
        "subject": _term(r.subject), "grade_level": _term(r.grade_term),
        "school": {"id": r.school.id, "name": r.school.name} if r.school else None,
        "grade": r.grade, "grade_label": r.grade_label or None,
        "published_at": r.published_at.isoformat() + "Z" if r.published_at else None,
        "views": card.views, "rating": card.rating, "ratings": card.ratings, "links": links_json(r),
    }


def resource_json(r, user) -> dict:
    """A resource's metadata, counts, rating summary and links, as ``user`` may see them."""
    average, rated, distribution = usage.rating_summary(r)
    data = {
        "id": r.id, "lineage_id": r.lineage_id, "supersedes_id": r.supersedes_id,
        "status": r.status, "status_label": r.status_label,
        "title": r.title, "description": r.description, "kind": r.kind, "kind_label": r.kind_label or None,
        "form": _term(r.form), "stage": _term(r.stage), "subject": _term(r.subject), "grade_level": _term(r.grade_term),
        "edition": _term(r.edition), "category": {"id": r.category.id, "path": r.category.path} if r.category else None,
        "chapter": r.chapter, "section": r.section, "column": r.column,
        "created_on": r.created_on.isoformat() if r.created_on else None,
        "copyright_holder": r.copyright_holder, "presenters": r.split("presenters"), "keywords": r.split("keywords"),
        "type_code": r.type_code, "catalogue_xml": r.catalogue_xml, "source": r.source, "licence": r.licence,
        "link_url": r.link_url,
        "file": {"name": r.file_name, "size": r.file_size, "kind": r.file_kind, "mime": r.file_mime,
                 "previewable": preview_kind(r) is not None} if r.file_sha256 else None,
        "school": {"id": r.school.id, "name": r.school.name} if r.school else None,
        "owner": {"id": r.owner.id, "real_name": r.owner.real_name},
        "grade": r.grade, "grade_label": r.grade_label or None,
        "published_at": r.published_at.isoformat() + "Z" if r.published_at else None,
        "counts": usage.counts(r),
        "rating": {"average": average, "count": rated, "distribution": {str(s): n for s, n in distribution.items()}},
        "links": links_json(r),
    }
    if can(user, "review.view", r):  # the workflow is the owner's and the reviewers' business
        data["processing"] = processing_json(r)
        data["status_reason"] = r.status_reason
    return data


def processing_json(r) -> dict:
    return {"state": r.processing, "label": r.processing_label, "step": r.processing_step, "error": r.processing_failure}


@bp.route("/resources", methods=["GET"], endpoint="resources")
@token_required
def list_resources():
    """The district library, or a school's library with school_id; filtered, sorted, a page at a time.
    With q, a full-text search over every library the account may see, with facet counts.
    ---
    get:
      summary: 浏览资源库（区级库，或带 school_id 的校本库）；带 q 时全文搜索
      security: [{bearerAuth: []}]
      parameters:
        - {in: query, name: q, schema: {type: string, maxLength: 100}, description: "搜索词：汉字、短语（加引号）、拼音或拼音首字母；带 q 时忽略 school_id，改用 library 筛选"}
        - {in: query, name: school_id, schema: {type: integer}, description: 校本库（仅本校师生和区管理员；不带 q 时）}
        - {in: query, name: kind, schema: {type: string, enum: [student, teacher, research]}}
        - {in: query, name: form_id, schema: {type: integer}}
        - {in: query, name: stage_id, schema: {type: integer}}
        - {in: query, name: subject_id, schema: {type: integer}}
        - {in: query, name: grade_id, schema: {type: integer}}
        - {in: query, name: edition_id, schema: {type: integer}}
        - {in: query, name: section, schema: {type: string}, description: 国家平台版块}
        - {in: query, name: column, schema: {type: string}, description: 国家平台栏目}
        - {in: query, name: library, schema: {type: string}, description: "带 q 时：district 或 school:<学校编号>"}
        - {in: query, name: form, schema: {type: string}, description: 带 q 时：资源形式名称（facets 中的值）}
        - {in: query, name: stage, schema: {type: string}, description: 带 q 时：学段名称}
        - {in: query, name: subject, schema: {type: string}, description: 带 q 时：学科名称}
        - {in: query, name: grade, schema: {type: string}, description: 带 q 时：年级名称}
        - {in: query, name: edition, schema: {type: string}, description: 带 q 时：教材版本名称}
        - {in: query, name: file_type, schema: {type: string, enum: [video, audio, pdf, document, image, archive, link]}, description: 带 q 时}
        - {in: query, name: source, schema: {type: string}, description: 带 q 时：来源代码}
        - {in: query, name: grade_result, schema: {type: string, enum: [excellent, good, pass, fail]}, description: 带 q 时：评审等级}
        - {in: query, name: year, schema: {type: string}, description: 带 q 时：入库年份，如 2023}
        - {in: query, name: sort, schema: {type: string, enum: [relevance, newest, views, rating]}, description: "默认：带 q 时 relevance，否则 newest（relevance 仅用于搜索）"}
        - {in: query, name: page, schema: {type: integer, default: 1}}
      responses:
        200:
          description: one page of resources
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: '#/components/schemas/ResourceCard'}}
                  total: {type: integer}
                  page: {type: integer}
                  pages: {type: integer}
                  facets:
                    type: object
                    description: "带 q 时：每个筛选项的取值和数量，如 {subject: [{value: 数学, label: 数学, count: 3}]}"
                    additionalProperties:
                      type: array
                      items:
                        type: object
                        properties: {value: {type: string}, label: {type: string}, count: {type: integer}, selected: {type: boolean}}
        400: {description: "a query value that does not fit the parameters above (code invalid, field names it)", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        403: {description: a school library of another school, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        404: {description: no school has that school_id, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    if request.args.get("q", "").strip():
        found = search.search(g.api_user, request.args["q"], filters=search.filters_from(request.args),
                              sort=request.args.get("sort", "relevance"), page=page_number())
        facets = {facet.name: [{"value": option.value, "label": option.label, "count": option.count,
                                "selected": option.selected} for option in facet.options] for facet in found.facets}
        return jsonify(items=[card_json(hit.card) for hit in found.items], total=found.total, page=found.page,
                       pages=found.pages, facets=facets)
    page = browsing.browse(g.api_user, school_id=request.args.get("school_id", type=as_id), filters=request.args,
                           sort=request.args.get("sort", "newest"), page=page_number())
    return jsonify(items=[card_json(card) for card in page.items], total=page.total, page=page.page, pages=page.pages)


@bp.route("/resources/<int:resource_id>", methods=["GET"], endpoint="resource")
@token_required
def get_resource(resource_id):
    """One resource: metadata, counts, rating summary and links; counts as a view.
    ---
    get:
      summary: 资源详情
      security: [{bearerAuth: []}]
      parameters: [{in: path, name: resource_id, required: true, schema: {type: integer}}]
      responses:
        200: {description: the resource, content: {application/json: {schema: {$ref: '#/components/schemas/Resource'}}}}
        403: {description: not visible to this account, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        404: {description: no such resource, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    resource = library.get_resource(resource_id)
    require(g.api_user, "resource.view", resource)
    usage.record(g.api_user, resource, "view")
    return jsonify(resource_json(resource, g.api_user))


@bp.route("/resources/<int:resource_id>/download", endpoint="resource_download")
@token_required
def download_resource(resource_id):
    """The original file, as an attachment with its name (RFC 5987); supports Range; counts as a download.
    ---
    get:
      summary: 下载资源文件
      security: [{bearerAuth: []}]
      parameters:
        - {in: path, name: resource_id, required: true, schema: {type: integer}}
        - {in: header, name: Range, schema: {type: string}, description: "e.g. bytes=0-1048575"}
      responses:
        200: {description: "the file, as the type its content was found to be (file.mime)", content: {"*/*": {schema: {type: string, format: binary}}}}
        206: {description: the requested range, content: {"*/*": {schema: {type: string, format: binary}}}}
        403: {description: not visible to this account, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        404: {description: "no such resource, or a link resource without a file", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        416: {description: the range lies past the end of the file, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    return download_response(g.api_user, library.get_resource(resource_id))


@bp.route("/resources/<int:resource_id>/rating", methods=["PUT"], endpoint="resource_rating")
@token_required
def put_rating(resource_id):
    """Give or change one's rating of a library resource.
    ---
    put:
      summary: 评分（1–5 星）和评论；每人每个资源一条，可修改
      security: [{bearerAuth: []}]
      parameters: [{in: path, name: resource_id, required: true, schema: {type: integer}}]
      requestBody:
        required: true
        content:
          application/json: {schema: RatingBody}
      responses:
        200:
          description: the rating and the resource's new summary
          content:
            application/json:
              schema:
                type: object
                properties:
                  stars: {type: integer}
                  comment: {type: string}
                  average: {type: number}
                  count: {type: integer}
                  distribution: {type: object, additionalProperties: {type: integer}}
        403: {description: not in a library or not visible, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    resource = library.get_resource(resource_id)
    require(g.api_user, "resource.rate", resource)  # before reading the body: a refusal must not depend on it
    body = load_body()
    rating = usage.rate(g.api_user, resource, body["stars"], body.get("comment") or "")
    average, rated, distribution = usage.rating_summary(resource)
    return jsonify(stars=rating.stars, comment=rating.comment, average=average, count=rated,
                   distribution={str(s): n for s, n in distribution.items()})


class RatingBody(Body):
    stars = fields.Integer(required=True, strict=True, validate=Range(1, 5))
    comment = fields.String(allow_none=True, validate=Length(max=usage.COMMENT_MAX))


_TERM = {"type": "object", "nullable": True, "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
_SCHOOL = {"type": "object", "nullable": True, "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}
_LINKS = {"type": "object", "additionalProperties": {"type": "string"},
          "description": "page, api, download, api_download, preview, cover, thumb (when there is one)"}

# What card_json and resource_json answer.
RESOURCE_CARD_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"}, "status": {"type": "string", "enum": list(STATUSES)},
        "kind": {"type": "string", "nullable": True, "enum": [*KINDS, None]}, "form": _TERM, "subject": _TERM,
        "grade_level": _TERM, "school": _SCHOOL,
        "grade": {"type": "string", "nullable": True, "description": "评审等级: excellent, good, pass, fail"},
        "grade_label": {"type": "string", "nullable": True},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "views": {"type": "integer"}, "rating": {"type": "number", "nullable": True}, "ratings": {"type": "integer"},
        "links": _LINKS,
    },
}
RESOURCE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "lineage_id": {"type": "integer", "description": "the first version's id; counts add up over the lineage"},
        "supersedes_id": {"type": "integer", "nullable": True},
        "status": {"type": "string", "enum": list(STATUSES)}, "status_label": {"type": "string"},
        "status_reason": {"type": "string", "nullable": True, "description": "owner and reviewers only"},
        "title": {"type": "string"}, "description": {"type": "string"},
        "kind": {"type": "string", "nullable": True, "enum": [*KINDS, None]},
        "kind_label": {"type": "string", "nullable": True},
        "form": _TERM, "stage": _TERM, "subject": _TERM, "grade_level": _TERM, "edition": _TERM,
        "category": {"type": "object", "nullable": True,
                     "properties": {"id": {"type": "integer"}, "path": {"type": "string"}}},
        "chapter": {"type": "string"}, "section": {"type": "string"}, "column": {"type": "string"},
        "created_on": {"type": "string", "format": "date", "nullable": True},
        "copyright_holder": {"type": "string"},
        "presenters": {"type": "array", "items": {"type": "string"}},
        "keywords": {"type": "array", "items": {"type": "string"}},
        "type_code": {"type": "string"}, "catalogue_xml": {"type": "string"},
        "source": {"type": "string", "nullable": True}, "licence": {"type": "string", "nullable": True},
        "link_url": {"type": "string", "nullable": True},
        "file": {"type": "object", "nullable": True, "properties": {
            "name": {"type": "string"}, "size": {"type": "integer"}, "kind": {"type": "string"},
            "mime": {"type": "string"}, "previewable": {"type": "boolean"}}},
        "school": _SCHOOL,
        "owner": {"type": "object", "properties": {"id": {"type": "integer"}, "real_name": {"type": "string"}}},
        "grade": {"type": "string", "nullable": True}, "grade_label": {"type": "string", "nullable": True},
        "published_at": {"type": "string", "format": "date-time", "nullable": True},
        "counts": {"type": "object", "properties": {
            "views": {"type": "integer"}, "downloads": {"type": "integer"}, "learners": {"type": "integer"}}},
        "rating": {"type": "object", "properties": {
            "average": {"type": "number", "nullable": True}, "count": {"type": "integer"},
            "distribution": {"type": "object", "additionalProperties": {"type": "integer"}}}},
        "processing": {**PROCESSING_SCHEMA, "description": "owner and reviewers only"},
        "links": _LINKS,
    },
}

# The OpenAPI components this module contributes (see spec.build_spec).
COMPONENTS = {"ResourceCard": RESOURCE_CARD_SCHEMA, "Resource": RESOURCE_SCHEMA}
