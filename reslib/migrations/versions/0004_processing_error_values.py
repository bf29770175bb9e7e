"""a processing failure keeps its reason's values apart from its message, to be shown in the reader's language

Revision ID: 0004_error_values
Revises: 0003_search
Create Date: 2026-11-24 17:00:00.000000

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0004_error_values'
down_revision = '0003_search'
branch_labels = None
depends_on = None


def upgrade():
    # Earlier failures keep their reason as Chinese text in processing_error, with no values: shown as they are.
    op.add_column('resource', sa.Column('processing_error_values', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('resource') as batch_op:
        batch_op.drop_column('processing_error_values')
