"""awards: district competitions

Revision ID: 0001_awards
Revises:
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001_awards'
down_revision = None
branch_labels = ('awards',)
depends_on = '0001_core'


def upgrade():
    op.create_table('awards_competition',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=128), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('prize_ratio', sa.String(length=16), nullable=False),
    sa.Column('max_award_rate', sa.Integer(), nullable=False),
    sa.Column('entry_deadline', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['account.id'], name=op.f('fk_awards_competition_created_by_id_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_awards_competition')),
    sa.UniqueConstraint('title', name=op.f('uq_awards_competition_title'))
    )
    with op.batch_alter_table('awards_competition', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_awards_competition_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('awards_competition', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_awards_competition_status'))

    op.drop_table('awards_competition')
