"""/api/v1/openapi.json: the OpenAPI document, built from the views' docstrings and the request bodies'
marshmallow schemas (see base)."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import current_app, jsonify

from reslib.views.api import account, base, library, review, upload
from reslib.views.api.base import bp


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
    spec = APISpec(title=f"reslib API — {app.config['DISTRICT_NAME']}", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    for module in (base, account, library, upload, review):
        for name, schema in module.COMPONENTS.items():
            spec.components.schema(name, schema)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.rule.startswith(bp.url_prefix):
            path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
            spec.path(path=path, operations=base.operations(app.view_functions[rule.endpoint]))
    return spec
