"""sync_provincial: recommendation rounds; the quota grid becomes a round's, each year's cells their own round

Revision ID: 0002_rounds
Revises: 0001_sync_provincial
Create Date: 2026-12-07 19:50:00

"""
from datetime import date

from alembic import op
import sqlalchemy as sa


revision = "0002_rounds"
down_revision = "0001_sync_provincial"
branch_labels = None
depends_on = "0002_library"

SECTIONS = "德育、劳动教育、课后服务、教师研修、家庭教育、教改经验"


def upgrade():
    rounds = op.create_table(
        "sync_provincial_round",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=100), nullable=False),
        sa.Column("sections", sa.String(length=200), nullable=False),
        sa.Column("min_per_section", sa.Integer(), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("submit_url", sa.String(length=1000), nullable=True),
        sa.Column("contact", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["account.id"],
                                name=op.f("fk_sync_provincial_round_created_by_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_provincial_round")),
    )
    op.create_table(
        "sync_provincial_recommendation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("column", sa.String(length=32), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("online_url", sa.String(length=1000), nullable=True),
        sa.Column("delivery_key", sa.String(length=36), nullable=False),
        sa.Column("proposed_by_id", sa.Integer(), nullable=False),
        sa.Column("proposed_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["round_id"], ["sync_provincial_round.id"],
                                name=op.f("fk_sync_provincial_recommendation_round_id_sync_provincial_round")),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"],
                                name=op.f("fk_sync_provincial_recommendation_resource_id_resource")),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_sync_provincial_recommendation_unit_id_unit")),
        sa.ForeignKeyConstraint(["proposed_by_id"], ["account.id"],
                                name=op.f("fk_sync_provincial_recommendation_proposed_by_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_provincial_recommendation")),
        sa.UniqueConstraint("round_id", "resource_id", name="uq_sync_provincial_recommendation_round_resource"),
        sa.UniqueConstraint("delivery_key", name=op.f("uq_sync_provincial_recommendation_delivery_key")),
    )
    op.create_index(op.f("ix_sync_provincial_recommendation_round_id"), "sync_provincial_recommendation", ["round_id"])
    op.create_index(op.f("ix_sync_provincial_recommendation_resource_id"), "sync_provincial_recommendation",
                    ["resource_id"])
    op.create_index(op.f("ix_sync_provincial_recommendation_status"), "sync_provincial_recommendation", ["status"])

    # Each year's quota cells become that year's round, so a district upgrading keeps the grid it filled in.
    with op.batch_alter_table("sync_provincial_quota") as batch:
        batch.add_column(sa.Column("round_id", sa.Integer(), nullable=True))
    connection = op.get_bind()
    years = connection.execute(sa.text("SELECT DISTINCT year FROM sync_provincial_quota ORDER BY year")).scalars()
    for year in list(years):
        connection.execute(rounds.insert().values(
            title=f"{year} 年国家中小学智慧教育平台资源推荐", year=year, platform="国家中小学智慧教育平台",
            sections=SECTIONS, min_per_section=0, deadline=date(year, 12, 31), status="closed", contact="{}",
            created_at=sa.func.current_timestamp()))
        round_id = connection.execute(sa.text("SELECT max(id) FROM sync_provincial_round")).scalar_one()
        connection.execute(sa.text("UPDATE sync_provincial_quota SET round_id = :round WHERE year = :year"),
                           {"round": round_id, "year": year})
    with op.batch_alter_table("sync_provincial_quota") as batch:
        batch.drop_constraint("uq_sync_provincial_quota_unit_section_year", type_="unique")
        batch.drop_column("year")
        batch.alter_column("round_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(op.f("fk_sync_provincial_quota_round_id_sync_provincial_round"),
                                 "sync_provincial_round", ["round_id"], ["id"])
        batch.create_index(op.f("ix_sync_provincial_quota_round_id"), ["round_id"])
        batch.create_unique_constraint("uq_sync_provincial_quota_round_unit_section", ["round_id", "unit_id", "section"])


def downgrade():
    # Back to one grid per year: each round's cells keep its year (two rounds of one year: the later one wins).
    with op.batch_alter_table("sync_provincial_quota") as batch:
        batch.add_column(sa.Column("year", sa.Integer(), nullable=True))
    op.execute("UPDATE sync_provincial_quota SET year = (SELECT year FROM sync_provincial_round"
               " WHERE sync_provincial_round.id = sync_provincial_quota.round_id)")
    op.execute("DELETE FROM sync_provincial_quota WHERE round_id NOT IN (SELECT max(r.id) FROM sync_provincial_round r"
               " GROUP BY r.year)")
    with op.batch_alter_table("sync_provincial_quota") as batch:
        batch.drop_constraint("uq_sync_provincial_quota_round_unit_section", type_="unique")
        batch.drop_index(op.f("ix_sync_provincial_quota_round_id"))
        batch.drop_constraint(op.f("fk_sync_provincial_quota_round_id_sync_provincial_round"), type_="foreignkey")
        batch.drop_column("round_id")
        batch.alter_column("year", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_sync_provincial_quota_unit_section_year", ["unit_id", "section", "year"])
    op.drop_table("sync_provincial_recommendation")
    op.drop_table("sync_provincial_round")
