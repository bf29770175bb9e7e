"""The JSON API under /api/v1. Authenticated by personal tokens (``Authorization: Bearer …``), so no CSRF.

Each view's docstring carries its OpenAPI operation after ``---``; /api/v1/openapi.json is built from them.
"""
import hmac
import re
from functools import cache, wraps

from apispec import APISpec
from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, current_app, g, jsonify, request
from flask_babel import gettext as _
from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from reslib.errors import ReslibError
from reslib.extensions import csrf
from reslib.models.base import MAX_ID
from reslib.services import accounts, monitoring

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _check_query(view) -> None:
    """Refuse a query parameter the operation's document declares but the value does not fit
    (a word where a number goes, a sort order that does not exist): silently ignoring it would
    answer a different question than the one asked."""
    for name, schema in _query_parameters(view.__doc__ or "").items():
        if name not in request.args:
            continue
        value = request.args[name]
        if schema.get("type") == "integer":
            if not re.fullmatch(r"-?\d+", value.strip()):
                raise ReslibError(_("参数 %(name)s 应为整数", name=name), field=name)
            digits = value.strip().lstrip("-")
            if len(digits) > len(str(MAX_ID)) or int(digits) > MAX_ID:  # no id or page is that large
                raise ReslibError(_("参数 %(name)s 超出范围（最大 %(max)s）", name=name, max=MAX_ID), field=name)
        if "enum" in schema and value not in schema["enum"]:
            raise ReslibError(_("参数 %(name)s 应为以下之一：%(values)s", name=name, values="、".join(schema["enum"])),
                              field=name)
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ReslibError(_("参数 %(name)s 不能超过 %(n)s 个字符", name=name, n=schema["maxLength"]), field=name)


@cache
def _query_parameters(docstring: str) -> dict:
    """The GET operation's query parameters, by name, with their schemas."""
    operation = load_operations_from_docstring(docstring).get("get") or {}
    return {p["name"]: p.get("schema", {}) for p in operation.get("parameters", []) if p.get("in") == "query"}


def bearer_token() -> str | None:
    """The token of the request's ``Authorization: Bearer …`` header, if it has one."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def token_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        user = accounts.user_for_token(token) if token else None
        if user is None:
            raise ReslibError(_("需要有效的 API 令牌（Authorization: Bearer …）"), code="unauthorized", status=401)
        g.api_user = user
        _check_query(view)
        return view(*args, **kwargs)

    return wrapper


def account_json(user) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "real_name": user.real_name,
        "roles": sorted(user.roles),
        "status": user.status,
        "school": {"id": user.school.id, "name": user.school.name} if user.school else None,
        "identifier": user.identifier,
        "id_number": user.id_number_masked,
    }


@bp.route("/me")
@token_required
def me():
    """The account the token belongs to.
    ---
    get:
      summary: 当前令牌对应的账号
      security: [{bearerAuth: []}]
      responses:
        200:
          description: the account
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Account'}
        401:
          description: missing, unknown or revoked token
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Error'}
    """
    return jsonify(account_json(g.api_user))


@bp.route("/metrics")
def metrics():
    """The monitoring page's platform and library figures in Prometheus's text format.

    A scraper holds the district's METRICS_TOKEN, not a person's token: a person's token (a district admin's
    above all) would put their account's every right, minors' records among them, on the monitoring server.
    ---
    get:
      summary: 运行监控指标（Prometheus 格式，凭 METRICS_TOKEN 访问）
      security: [{bearerAuth: []}]
      responses:
        200:
          description: "gauges named reslib_*: worker, queue, media processing, library renewal, use, accounts, disk"
          content: {text/plain: {schema: {type: string}}}
        401:
          description: missing or wrong metrics token
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
        404:
          description: no METRICS_TOKEN is configured, so metrics are off
          content: {application/json: {schema: {$ref: '#/components/schemas/Error'}}}
    """
    expected = current_app.config["METRICS_TOKEN"]
    if not expected:
        raise ReslibError(_("指标接口未启用：请在配置中设置 METRICS_TOKEN"), code="not_enabled", status=404)
    token = bearer_token()
    if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ReslibError(_("需要有效的指标令牌（Authorization: Bearer …）"), code="unauthorized", status=401)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(monitoring.Snapshot())
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))
    return encode(registry), 200, {"Content-Type": content_type}


@bp.route("/openapi.json")
def openapi():
    """This document.
    ---
    get:
      summary: OpenAPI 3 description of this API
      responses:
        200: {description: the OpenAPI document}
    """
    return jsonify(build_spec(current_app).to_dict())


def build_spec(app) -> APISpec:
    spec = APISpec(title=f"reslib API — {app.config['DISTRICT_NAME']}", version="1", openapi_version="3.0.3")
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    spec.components.schema("Error", ERROR_SCHEMA)
    spec.components.schema("Account", ACCOUNT_SCHEMA)
    spec.components.schema("Resource", api_library.RESOURCE_SCHEMA)
    spec.components.schema("ResourceCard", api_library.RESOURCE_CARD_SCHEMA)
    spec.components.schema("OwnResource", api_upload.OWN_RESOURCE_SCHEMA)
    spec.components.schema("ReviewState", api_review.REVIEW_STATE_SCHEMA)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(bp.url_prefix):
            continue
        view = app.view_functions[rule.endpoint]
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        spec.path(path=path, operations=load_operations_from_docstring(view.__doc__ or ""))
    return spec


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "machine-readable, e.g. unauthorized, not_found"},
                "message": {"type": "string", "description": "for people, in the user's language"},
                "field": {"type": "string", "nullable": True, "description": "the input at fault, if any"},
            },
        }
    },
}
ACCOUNT_SCHEMA = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "username": {"type": "string"},
        "real_name": {"type": "string"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "status": {"type": "string", "enum": ["pending", "active", "rejected", "disabled"]},
        "school": {"type": "object", "nullable": True, "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
        "identifier": {"type": "string", "nullable": True},
        "id_number": {"type": "string", "nullable": True, "description": "masked national ID number"},
    },
}


# The resource routes live beside this module and register on the same blueprint.
from reslib.views import api_library, api_review, api_upload  # noqa: E402,F401
