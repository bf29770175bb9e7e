"""sync_provincial: recommendation quotas per unit, section and year

Revision ID: 0001_sync_provincial
Revises:
Create Date: 2026-11-24 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0001_sync_provincial"
down_revision = None
branch_labels = ("sync_provincial",)
depends_on = "0001_core"


def upgrade():
    op.create_table(
        "sync_provincial_quota",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("quota", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("quota >= 0", name=op.f("ck_sync_provincial_quota_quota_not_negative")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sync_provincial_quota_unit_id_unit")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["account.id"],
                                name=op.f("fk_sync_provincial_quota_updated_by_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_provincial_quota")),
        sa.UniqueConstraint("unit_id", "section", "year", name="uq_sync_provincial_quota_unit_section_year"),
    )


def downgrade():
    op.drop_table("sync_provincial_quota")
