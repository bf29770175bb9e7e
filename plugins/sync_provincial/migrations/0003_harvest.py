"""sync_provincial: harvest sources, their runs, and where each harvested resource came from

Revision ID: 0003_harvest
Revises: 0002_rounds
Create Date: 2026-12-08 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0003_harvest"
down_revision = "0002_rounds"
branch_labels = None
depends_on = "0002_library"  # harvested records refer to resources


def upgrade():
    op.create_table(
        "sync_provincial_harvest_source",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("base_url", sa.String(length=1000), nullable=False),
        sa.Column("metadata_prefix", sa.String(length=16), nullable=False),
        sa.Column("set_spec", sa.String(length=200), nullable=False),
        sa.Column("mode", sa.String(length=8), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("category_mapping", sa.Text(), nullable=False),
        sa.Column("interval_hours", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("last_datestamp", sa.String(length=32), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"],
                                name=op.f("fk_sync_provincial_harvest_source_school_id_school")),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"],
                                name=op.f("fk_sync_provincial_harvest_source_account_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_provincial_harvest_source")),
    )
    op.create_table(
        "sync_provincial_harvest_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("withdrawn", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sync_provincial_harvest_source.id"],
                                name=op.f("fk_sync_provincial_harvest_run_source_id_sync_provincial_harvest_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_provincial_harvest_run")),
    )
    op.create_index(op.f("ix_sync_provincial_harvest_run_source_id"), "sync_provincial_harvest_run", ["source_id"],
                    unique=False)
    op.create_table(
        "sync_provincial_harvested_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=500), nullable=False),
        sa.Column("datestamp", sa.String(length=32), nullable=False),
        sa.Column("harvested_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"],
                                name=op.f("fk_sync_provincial_harvested_record_resource_id_resource")),
        sa.ForeignKeyConstraint(
            ["source_id"], ["sync_provincial_harvest_source.id"],
            name=op.f("fk_sync_provincial_harvested_record_source_id_sync_provincial_harvest_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_provincial_harvested_record")),
        sa.UniqueConstraint("resource_id", name=op.f("uq_sync_provincial_harvested_record_resource_id")),
        sa.UniqueConstraint("source_id", "identifier", name="uq_sync_provincial_harvested_record_source_id"),
    )


def downgrade():
    op.drop_table("sync_provincial_harvested_record")
    op.drop_index(op.f("ix_sync_provincial_harvest_run_source_id"), table_name="sync_provincial_harvest_run")
    op.drop_table("sync_provincial_harvest_run")
    op.drop_table("sync_provincial_harvest_source")
