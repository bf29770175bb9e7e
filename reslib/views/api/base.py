"""What every route of the JSON API shares: the blueprint, the token check, each view's document, which checks
the request's query and body, and the schemas the parts have in common.

Each view's docstring carries its OpenAPI operation after ``---``. A JSON request body is named there by its
marshmallow schema (``schema: RatingBody``): ``load_body`` loads the body with that schema, and the OpenAPI
document is generated from it, so what is documented and what is accepted cannot drift apart.
"""
import re
from copy import deepcopy
from functools import cache, wraps

from apispec.yaml_utils import load_operations_from_docstring
from flask import Blueprint, current_app, g, request
from flask_babel import gettext as _
from marshmallow import RAISE, Schema, ValidationError, class_registry, fields
from marshmallow.validate import Length, OneOf, Range

from reslib.errors import ReslibError
from reslib.extensions import csrf
from reslib.models.base import MAX_ID
from reslib.services import accounts
from reslib.views import json_object

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


# --- each view's document -------------------------------------------------------------------

def _error_answer(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


@cache
def _operations(docstring: str) -> dict:
    operations = load_operations_from_docstring(docstring)
    for operation in operations.values():
        parameters = operation.get("parameters", [])
        for parameter in parameters:
            schema = parameter.setdefault("schema", {})
            if schema.get("type") == "integer":  # every number this API takes is an id or a page
                schema.setdefault("minimum", 1)
                schema.setdefault("maximum", MAX_ID)
        responses = operation.setdefault("responses", {})
        if operation.get("security"):
            responses.setdefault(401, _error_answer("missing, unknown or revoked token (code unauthorized)"))
        if any(parameter["in"] == "path" for parameter in parameters):
            responses.setdefault(404, _error_answer("no such resource (code not_found)"))
        if "requestBody" in operation or any(parameter["in"] == "query" for parameter in parameters):
            responses.setdefault(400, _error_answer(
                "the query or the body does not fit this document (code invalid or invalid_body; field names the "
                "first value at fault, fields each of them), or the body is not a JSON object (code bad_request)"))
    return operations


def operations(view) -> dict:
    """The OpenAPI operations of ``view``'s docstring, with what every operation of this API has in common filled
    in: integers run from 1 to MAX_ID; 401 where a token is needed, 404 where the path names a resource, and 400
    where there is a query or a body to refuse. A copy: the document's builder may change it."""
    return deepcopy(_operations(view.__doc__ or ""))


def _operation() -> dict:
    """The running request's operation."""
    method = "get" if request.method == "HEAD" else request.method.lower()
    return _operations(current_app.view_functions[request.endpoint].__doc__ or "").get(method, {})


def _check_query(operation: dict) -> None:
    """Refuse a query value that does not fit a parameter the operation declares (a word where a number goes, a
    number past any id, a sort order that does not exist): silently ignoring it would answer a different question
    than the one asked. A parameter the operation does not declare is left alone."""
    for parameter in operation.get("parameters", []):
        name, schema = parameter["name"], parameter["schema"]
        if parameter["in"] != "query" or name not in request.args:
            continue
        value = request.args[name]
        if schema.get("type") == "integer":
            number = value.strip()
            if not re.fullmatch(r"-?[0-9]+", number):
                raise ReslibError(_("参数 %(name)s 应为整数", name=name), field=name)
            low, high = schema["minimum"], schema["maximum"]
            # Far too many digits is out of range without reading them as a number.
            if len(number.lstrip("-")) > len(str(high)) or not low <= int(number) <= high:
                raise ReslibError(_("参数 %(name)s 超出范围（%(min)s 到 %(max)s）", name=name, min=low, max=high),
                                  field=name)
        if "enum" in schema and value not in schema["enum"]:
            raise ReslibError(_("参数 %(name)s 应为以下之一：%(values)s", name=name, values="、".join(schema["enum"])),
                              field=name)
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise ReslibError(_("参数 %(name)s 不能超过 %(n)s 个字符", name=name, n=schema["maxLength"]), field=name)


# --- who is asking ----------------------------------------------------------------------------

def bearer_token() -> str | None:
    """The token of the request's ``Authorization: Bearer …`` header, if it has one."""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def token_required(view):
    """The view answers only to a valid personal token (``g.api_user`` is its account), and only to a query that
    fits its document."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        token = bearer_token()
        user = accounts.user_for_token(token) if token else None
        if user is None:
            raise ReslibError(_("需要有效的 API 令牌（Authorization: Bearer …）"), code="unauthorized", status=401)
        g.api_user = user
        _check_query(_operation())
        return view(*args, **kwargs)

    return wrapper


# --- request bodies ---------------------------------------------------------------------------

class Body(Schema):
    """A JSON request body. A field the schema does not know is refused, not ignored: a misspelt name would
    otherwise change nothing and answer success."""

    class Meta:
        unknown = RAISE


class Id(fields.Integer):
    """A row's id: a JSON integer that the database can hold, never a string holding one."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=Range(1, MAX_ID), **kwargs)


class Number(fields.Float):
    """A JSON number; marshmallow's Float would also take a string holding one, which the document does not."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, int | float):
            raise self.make_error("invalid")
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except OverflowError:  # an integer larger than any float
            raise self.make_error("invalid") from None


class BodyInvalid(ReslibError):
    """The body does not fit the operation's schema; ``errors`` maps each field at fault to what it should be."""

    def __init__(self, errors: dict[str, str]):
        field, message = next(iter(errors.items()))
        super().__init__(message, code="invalid_body", field=field)
        self.errors = errors

    def to_dict(self) -> dict:
        return {**super().to_dict(), "fields": self.errors}


@cache
def _body_schema(name: str) -> Schema:
    return class_registry.get_class(name)()


def load_body() -> dict:
    """The request's JSON body, loaded by the schema that the view's document names for it; anything else is
    refused (BodyInvalid, 400) with each field at fault named. Call it after the permission check: a refusal
    must not depend on what was sent."""
    name = _operation()["requestBody"]["content"]["application/json"]["schema"]
    schema = _body_schema(name)
    data = json_object()
    try:
        return schema.load(data)
    except ValidationError as exc:
        at_fault = [*(name for name in schema.fields if name in exc.messages),  # in the document's order
                    *(name for name in exc.messages if name not in schema.fields)]
        raise BodyInvalid({name: _complaint(schema, data, name) for name in at_fault}) from None


def _complaint(schema: Schema, data: dict, name: str) -> str:
    field = schema.fields.get(name)
    if field is None:
        return _("没有 %(field)s 这个字段", field=name)
    if name not in data:
        return _("请提供 %(field)s，应为%(expected)s", field=name, expected=expected(field))
    return _("%(field)s 应为%(expected)s", field=name, expected=expected(field))


def expected(field: fields.Field) -> str:
    """What ``field`` takes, in words; the OpenAPI document says the same in its own terms."""
    if isinstance(field, fields.List):
        return _("列表，每项为%(item)s", item=expected(field.inner))
    if isinstance(field, fields.Dict):
        return _("对象，每个值为%(item)s", item=expected(field.value_field))
    if isinstance(field, fields.Nested):
        return _("对象，可含字段：%(names)s", names="、".join(field.schema.fields))
    if isinstance(field, fields.Date):
        return _("日期，格式为 yyyy-mm-dd")
    validators = {type(validator): validator for validator in field.validators}
    if OneOf in validators:
        return _("以下之一：%(values)s", values="、".join(str(choice) for choice in validators[OneOf].choices if choice))
    if Range in validators and isinstance(field, fields.Integer):
        return _("介于 %(min)s 到 %(max)s 之间的整数", min=validators[Range].min, max=validators[Range].max)
    if isinstance(field, fields.Number):
        return _("数字")
    if Length in validators:
        return _("不超过 %(n)s 个字的文本", n=validators[Length].max)
    return _("文本")


# --- shared answers ---------------------------------------------------------------------------

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "machine-readable, e.g. unauthorized, not_found, invalid_body"},
                "message": {"type": "string", "description": "for people, in the user's language"},
                "field": {"type": "string", "nullable": True, "description": "the input at fault, if any"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "when several inputs are at fault: each one's message"},
            },
        }
    },
}
PROCESSING_SCHEMA = {"type": "object", "properties": {
    "state": {"type": "string"}, "label": {"type": "string"}, "step": {"type": "string"},
    "error": {"type": "string", "nullable": True}}}

# The OpenAPI components this module contributes (see spec.build_spec).
COMPONENTS = {"Error": ERROR_SCHEMA}
