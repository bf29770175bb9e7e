"""The JSON API for one's own resources: list them, create (file or link), edit metadata, delete a draft,
new version."""
from flask import current_app, g, jsonify, request, url_for
from marshmallow import fields
from marshmallow.validate import Length, OneOf

from reslib import national
from reslib.extensions import db
from reslib.models.library import STATUSES
from reslib.permissions import can, require
from reslib.services import library
from reslib.views import page_number
from reslib.views.api.base import PROCESSING_SCHEMA, Body, Id, bp, load_body, token_required
from reslib.views.api.library import links_json, processing_json, resource_json
from reslib.views.upload import allow_large_body, streamed_file_name


def _metadata_field(name: str) -> fields.Field:
    """What the API takes for one of library.METADATA_FIELDS; null or "" empties the field."""
    if name in library.TEXT_FIELDS:
        return fields.String(allow_none=True, validate=Length(max=library.TEXT_FIELDS[name]))
    if name in library.TERM_FIELDS:
        return Id(allow_none=True)
    if name in library.CHOICE_FIELDS:
        return fields.String(allow_none=True, validate=OneOf(["", *library.CHOICE_FIELDS[name]]))
    if name == "section":
        return fields.String(allow_none=True, validate=OneOf(["", *(section for section, _ in national.SECTIONS)]))
    if name == "column":  # which columns go with which section is the service's to check
        return fields.String(allow_none=True, validate=OneOf(
            ["", *(column for _, columns in national.SECTIONS for column in columns)]))
    if name == "created_on":
        return fields.Date(allow_none=True)
    if name == "link_url":
        return fields.String(allow_none=True, validate=Length(max=library.LINK_MAX))
    raise LookupError(f"the API does not say what it takes for the metadata field {name}")


# A resource's metadata, any of it; made from the service's list of fields, so that a new one is taken at once.
MetadataBody = type("MetadataBody", (Body,), {name: _metadata_field(name) for name in library.METADATA_FIELDS})


class LinkBody(MetadataBody):
    """A link resource: its address, and any metadata with it."""

    link_url = fields.String(required=True, validate=Length(max=library.LINK_MAX))


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
          application/json: {schema: LinkBody}
      responses:
        201: {description: the new draft, content: {application/json: {schema: {$ref: '#/components/schemas/Resource'}}}}
        403: {description: not allowed to upload (students), content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        409: {description: the same file is already in the library, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        413: {description: too large for its kind, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        415: {description: not a kind of file the library takes, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        422: {description: "a link or a metadata value refused (code invalid_metadata; fields maps each to its message); nothing was created", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    user = g.api_user
    require(user, "resource.upload")  # before reading the body: a refusal must not depend on it
    if request.is_json:
        metadata = load_body()
        resource = library.create_link(user, metadata.pop("link_url"), metadata.pop("title", None) or "", metadata)
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
        required: true
        content:
          application/json: {schema: MetadataBody}
      responses:
        200: {description: the resource, content: {application/json: {schema: {$ref: '#/components/schemas/Resource'}}}}
        403: {description: "not the owner, or no longer a draft or returned", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        409: {description: "submitted meanwhile (code conflict): nothing was saved", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        422: {description: "values refused (a term not in its vocabulary, a column of another section, …; code invalid_metadata): error.fields maps each to its message", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    resource = library.get_resource(resource_id)
    require(g.api_user, "resource.edit", resource)  # before reading the body: a refusal must not depend on it
    library.update_metadata(g.api_user, resource, load_body())
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
        403: {description: not the owner, content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
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
        403: {description: "not the owner, or not in a library", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
        409: {description: "another step on the same resource was taken at the same moment (code conflict)", content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}}
    """
    copy = library.new_version(g.api_user, library.get_resource(resource_id))
    return jsonify(resource_json(copy, g.api_user)), 201

# The OpenAPI components this module contributes (see spec.build_spec).
COMPONENTS = {"OwnResource": OWN_RESOURCE_SCHEMA}
