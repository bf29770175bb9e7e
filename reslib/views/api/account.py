"""The account a token belongs to."""
from flask import g, jsonify

from reslib.views.api.base import bp, token_required


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
    """
    return jsonify(account_json(g.api_user))


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

# The OpenAPI components this module contributes (see spec.build_spec).
COMPONENTS = {"Account": ACCOUNT_SCHEMA}
