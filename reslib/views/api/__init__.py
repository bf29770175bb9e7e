"""The JSON API under /api/v1, authenticated by personal tokens (``Authorization: Bearer …``), so no CSRF.

Each part imports ``base`` (the blueprint, the token check, the documents that check each request, the shared
schemas) and registers its routes on its blueprint; ``spec`` builds the OpenAPI document from them all.
"""
from reslib.views.api import monitoring, spec  # noqa: F401  (spec imports the other parts: every route joins bp)
from reslib.views.api.base import bp  # noqa: F401  (registered by create_app)
