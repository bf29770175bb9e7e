"""The JSON API for one's own resources: list them, create (file or link), edit metadata, delete a draft,
new version."""
from flask import current_app, g, jsonify, request, url_for

from reslib.extensions import db
from reslib.models.library import STATUSES
from reslib.permissions import can, require
from reslib.services import library
from reslib.views import json_object, page_number
from reslib.views.api import bp, token_required
from reslib.views.api_library import PROCESSING_SCHEMA, links_json, processing_json, resource_json
from reslib.views.upload import allow_large_body, streamed_file_name


OWN_RESOURCE_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"}, "title": {"type": "string"},
        "status": {"type": "string", "enum": list(STATUSES)}, "status_label": {"type": "string"},
        "status_reason": {"type": "string", "nullable": True, "description": "退回或不通过的意见"},
        "processing": PROCESSING_SCHEMA,
        "updated_at": {"type": "string", "format": "date-time"},
        "links": {"type": "object", "description": "as a resource's, plus edit while its owner may change it",
                  "additionalProperties": {"type": "string"}},
    },
}


def own_resource_json(resource, user) -> dict:
    links = links_json(resource)
    if can(user, "resource.edit", resource):
        links["edit"] = url_for("upload.edit", resource_id=resource.id)
    return {"id": resource.id, "title": resource.title, "status": resource.status,
            "status_label": resource.status_label, "status_reason": resource.status_reason,
            "processing": processing_json(resource), "updated_at": resource.updated_at.isoformat() + "Z",
            "links": links}


@bp.route("/me/resources", methods=["GET"], endpoint="my_resources")
@token_required
def my_resources():
    """The account's own resources, newest change first, a page at a time, and how many are in each status.
    ---
    get:
      summary: 我的资源：自己上传的资源，含草稿、审核中和退回修改的；可按状态筛选
      security: [{bearerAuth: []}]
      parameters:
        - {in: query, name: status, schema: {type: string, enum: [draft, submitted, school_approved, district_review, published, returned, rejected, withdrawn]}}
        - {in: query, name: page, schema: {type: integer, default: 1}}
      responses:
        200:
          description: one page of the account's resources
          content:
            application/json:
              schema:
                type: object
                properties:
                  items: {type: array, items: {$ref: '#/components/schemas/OwnResource'}}
                  total: {type: integer}
                  page: {type: integer}
                  pages: {type: integer}
                  counts: {type: object, additionalProperties: {type: integer}, description: "每个状态的资源数，没有的不列出"}
        400: {description: "an unknown status (code invalid, field status)", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    user = g.api_user
    require(user, "library.use")
    # The OpenAPI document above has already refused a status it does not list (superseded ones are history).
    page = db.paginate(library.my_resources(user, request.args.get("status")), page=page_number(),
                       per_page=current_app.config["PAGE_SIZE"], error_out=False)
    return jsonify(items=[own_resource_json(r, user) for r in page.items], total=page.total, page=page.page,
                   pages=page.pages or 1, counts=library.my_status_counts(user))


@bp.route("/resources", methods=["POST"], endpoint="create_resource")
@token_required
def create_resource():
    """Create a draft: from a file sent as the raw body, or a link resource from JSON.
    ---
    post:
      summary: 上传文件（请求体为文件本身）或创建链接资源（JSON）
      security: [{bearerAuth: []}]
      parameters:
        - {in: header, name: X-File-Name, schema: {type: string}, description: 文件名（百分号编码）}
      requestBody:
        content:
          application/octet-stream: {schema: {type: string, format: binary}}
          application/json:
            schema:
              type: object
              required: [link_url]
              properties:
                link_url: {type: string}
                title: {type: string}
      responses:
        201: {description: the new draft, content: {application/json: {schema: {$ref: '#/components/schemas/Resource'}}}}
        409: {description: the same file is already in the library, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        413: {description: too large for its kind, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        415: {description: not a kind of file the library takes, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        422: {description: invalid metadata, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    user = g.api_user
    require(user, "resource.upload")  # before reading the body: a refusal must not depend on it
    if request.is_json:
        data = json_object()
        resource = library.create_link(user, data.get("link_url", ""), data.get("title", ""))
        metadata = {k: v for k, v in data.items() if k in library.METADATA_FIELDS and k != "link_url"}
        if metadata:
            library.update_metadata(user, resource, metadata)
    else:
        allow_large_body()
        resource = library.create_from_upload(user, request.stream, streamed_file_name())
    return jsonify(resource_json(resource, user)), 201


@bp.route("/resources/<int:resource_id>", methods=["PATCH"], endpoint="update_resource")
@token_required
def update_resource(resource_id):
    """Change a draft's metadata; every field is checked and nothing is saved if one is wrong.
    ---
    patch:
      summary: 修改草稿或退回资源的元数据
      security: [{bearerAuth: []}]
      parameters: [{in: path, name: resource_id, required: true, schema: {type: integer}}]
      requestBody:
        content:
          application/json:
            schema: {type: object, description: "any of: title, description, kind, form_id, stage_id, subject_id,
              grade_id, edition_id, category_id, chapter, section, column, created_on, copyright_holder,
              presenters, keywords, type_code, catalogue_xml, source, licence, link_url"}
      responses:
        200: {description: the resource, content: {application/json: {schema: {$ref: '#/components/schemas/Resource'}}}}
        422: {description: "invalid fields: error.fields maps each to its message", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    resource = library.get_resource(resource_id)
    require(g.api_user, "resource.edit", resource)  # before reading the body: a refusal must not depend on it
    library.update_metadata(g.api_user, resource, json_object())
    return jsonify(resource_json(resource, g.api_user))


@bp.route("/resources/<int:resource_id>", methods=["DELETE"], endpoint="delete_resource")
@token_required
def delete_resource(resource_id):
    """Delete a draft that never left its owner.
    ---
    delete:
      summary: 删除草稿
      security: [{bearerAuth: []}]
      parameters: [{in: path, name: resource_id, required: true, schema: {type: integer}}]
      responses:
        204: {description: deleted}
        409: {description: not a draft, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    library.delete_draft(g.api_user, library.get_resource(resource_id))
    return "", 204


@bp.route("/resources/<int:resource_id>/versions", methods=["POST"], endpoint="new_version")
@token_required
def new_version(resource_id):
    """Start a new version of a resource in a library; the current one stays until the new one is approved.
    ---
    post:
      summary: 创建新版本草稿
      security: [{bearerAuth: []}]
      parameters: [{in: path, name: resource_id, required: true, schema: {type: integer}}]
      responses:
        201: {description: the new version's draft, content: {application/json: {schema: {$ref: '#/components/schemas/Resource'}}}}
    """
    copy = library.new_version(g.api_user, library.get_resource(resource_id))
    return jsonify(resource_json(copy, g.api_user)), 201
