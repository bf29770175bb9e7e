"""search documents for the PostgreSQL full-text backend (SQLite deployments search with Whoosh)

Revision ID: 0003_search
Revises: 0002_library
Create Date: 2026-11-24 10:00:00.000000

"""
from alembic import op

from reslib.search.postgres_backend import SEARCH_DOCUMENT


# revision identifiers, used by Alembic.
revision = '0003_search'
down_revision = '0002_library'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        SEARCH_DOCUMENT.create(op.get_bind())


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        SEARCH_DOCUMENT.drop(op.get_bind())
