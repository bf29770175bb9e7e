"""awards: categories, eligibility and limits, the panel, entries and their authors, scores, certificates

Revision ID: 0002_awards_entries
Revises: 0001_awards
Create Date: 2026-12-07 16:00:00

Every existing competition gets the seed's rubric and one category (综合) carrying its prize rule, so it can
take entries as before.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0002_awards_entries"
down_revision = "0001_awards"
branch_labels = None
depends_on = "0002_library"  # entries and categories refer to resources and vocabulary terms

# The rubric as shipped with this release (plugins/awards/models.py DEFAULT_RUBRIC at the time).
FIRST_RUBRIC = [
    {"name": "方向正确", "weight": 25, "descriptor": "导向正确，符合课程标准与育人要求", "comment": False},
    {"name": "科学规范", "weight": 35, "descriptor": "内容科学准确，表述规范，设计合理", "comment": True},
    {"name": "公益合法", "weight": 20, "descriptor": "公益属性，无广告，无侵权", "comment": False},
    {"name": "技术标准", "weight": 20, "descriptor": "画面、声音、格式符合资源技术标准", "comment": False},
]


def upgrade():
    with op.batch_alter_table("awards_competition") as batch:
        batch.add_column(sa.Column("opens_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("eligible_roles", sa.String(64), nullable=False, server_default="teacher"))
        batch.add_column(sa.Column("eligible_schools_json", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("per_teacher", sa.Integer(), nullable=False, server_default="3"))
        batch.add_column(sa.Column("school_quota", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_authors", sa.Integer(), nullable=False, server_default="3"))
        batch.add_column(sa.Column("judges_per_entry", sa.Integer(), nullable=False, server_default="2"))
        batch.add_column(sa.Column("disagreement_margin", sa.Integer(), nullable=False, server_default="20"))
        batch.add_column(sa.Column("blind", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("rubric_json", sa.Text(), nullable=False,
                                   server_default=json.dumps(FIRST_RUBRIC, ensure_ascii=False)))
        batch.add_column(sa.Column("published_at", sa.DateTime(), nullable=True))

    op.create_table(
        "awards_category",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=True),
        sa.Column("form_id", sa.Integer(), nullable=True),
        sa.Column("subject_id", sa.Integer(), nullable=True),
        sa.Column("stage_id", sa.Integer(), nullable=True),
        sa.Column("section", sa.String(32), nullable=False),
        sa.Column("prize_ratio", sa.String(16), nullable=False),
        sa.Column("max_award_rate", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["competition_id"], ["awards_competition.id"],
                                name=op.f("fk_awards_category_competition_id_awards_competition")),
        sa.ForeignKeyConstraint(["form_id"], ["term.id"], name=op.f("fk_awards_category_form_id_term")),
        sa.ForeignKeyConstraint(["subject_id"], ["term.id"], name=op.f("fk_awards_category_subject_id_term")),
        sa.ForeignKeyConstraint(["stage_id"], ["term.id"], name=op.f("fk_awards_category_stage_id_term")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards_category")),
    )
    op.create_index(op.f("ix_awards_category_competition_id"), "awards_category", ["competition_id"])

    op.create_table(
        "awards_judge",
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["competition_id"], ["awards_competition.id"],
                                name=op.f("fk_awards_judge_competition_id_awards_competition")),
        sa.ForeignKeyConstraint(["user_id"], ["account.id"], name=op.f("fk_awards_judge_user_id_account")),
        sa.PrimaryKeyConstraint("competition_id", "user_id", name=op.f("pk_awards_judge")),
    )

    op.create_table(
        "awards_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("competition_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("lineage_id", sa.Integer(), nullable=False),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("selected", sa.Boolean(), nullable=False),
        sa.Column("flagged", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Double(), nullable=True),
        sa.Column("prize", sa.String(16), nullable=True),
        sa.Column("prize_override", sa.String(16), nullable=True),
        sa.Column("override_reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["competition_id"], ["awards_competition.id"],
                                name=op.f("fk_awards_entry_competition_id_awards_competition")),
        sa.ForeignKeyConstraint(["category_id"], ["awards_category.id"],
                                name=op.f("fk_awards_entry_category_id_awards_category")),
        sa.ForeignKeyConstraint(["resource_id"], ["resource.id"], name=op.f("fk_awards_entry_resource_id_resource")),
        sa.ForeignKeyConstraint(["submitted_by_id"], ["account.id"],
                                name=op.f("fk_awards_entry_submitted_by_id_account")),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_awards_entry_school_id_school")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards_entry")),
        sa.UniqueConstraint("competition_id", "lineage_id", name=op.f("uq_awards_entry_competition_id")),
    )
    for column in ("competition_id", "category_id", "submitted_by_id", "school_id"):
        op.create_index(op.f(f"ix_awards_entry_{column}"), "awards_entry", [column])

    op.create_table(
        "awards_entry_author",
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["awards_entry.id"],
                                name=op.f("fk_awards_entry_author_entry_id_awards_entry")),
        sa.ForeignKeyConstraint(["user_id"], ["account.id"], name=op.f("fk_awards_entry_author_user_id_account")),
        sa.PrimaryKeyConstraint("entry_id", "user_id", name=op.f("pk_awards_entry_author")),
    )

    op.create_table(
        "awards_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("judge_id", sa.Integer(), nullable=False),
        sa.Column("extra", sa.Boolean(), nullable=False),
        sa.Column("scores_json", sa.Text(), nullable=True),
        sa.Column("total", sa.Double(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("corrected_reason", sa.String(500), nullable=True),
        sa.Column("assigned_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["entry_id"], ["awards_entry.id"],
                                name=op.f("fk_awards_assignment_entry_id_awards_entry")),
        sa.ForeignKeyConstraint(["judge_id"], ["account.id"], name=op.f("fk_awards_assignment_judge_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards_assignment")),
        sa.UniqueConstraint("entry_id", "judge_id", name=op.f("uq_awards_assignment_entry_id")),
    )
    op.create_index(op.f("ix_awards_assignment_entry_id"), "awards_assignment", ["entry_id"])
    op.create_index(op.f("ix_awards_assignment_judge_id"), "awards_assignment", ["judge_id"])

    op.create_table(
        "awards_certificate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(32), nullable=False),
        sa.Column("source_key", sa.String(128), nullable=False),
        sa.Column("holder_id", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(64), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("entry_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("honour", sa.String(64), nullable=False),
        sa.Column("occasion", sa.String(200), nullable=False),
        sa.Column("work_title", sa.String(200), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("issuer", sa.String(128), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("revoke_reason", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["holder_id"], ["account.id"], name=op.f("fk_awards_certificate_holder_id_account")),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_awards_certificate_school_id_school")),
        sa.ForeignKeyConstraint(["entry_id"], ["awards_entry.id"],
                                name=op.f("fk_awards_certificate_entry_id_awards_entry")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_awards_certificate")),
        sa.UniqueConstraint("number", name=op.f("uq_awards_certificate_number")),
        sa.UniqueConstraint("source_key", name=op.f("uq_awards_certificate_source_key")),
    )
    for column in ("holder_id", "school_id", "entry_id"):
        op.create_index(op.f(f"ix_awards_certificate_{column}"), "awards_certificate", [column])

    # Each existing competition: one category with its own prize rule.
    competitions = sa.table("awards_competition", sa.column("id", sa.Integer), sa.column("prize_ratio", sa.String),
                            sa.column("max_award_rate", sa.Integer))
    categories = sa.table("awards_category", sa.column("competition_id", sa.Integer), sa.column("name", sa.String),
                          sa.column("section", sa.String), sa.column("prize_ratio", sa.String),
                          sa.column("max_award_rate", sa.Integer))
    bind = op.get_bind()
    rows = bind.execute(sa.select(competitions.c.id, competitions.c.prize_ratio, competitions.c.max_award_rate)).all()
    if rows:
        bind.execute(categories.insert(), [{"competition_id": id_, "name": "综合", "section": "", "prize_ratio": ratio,
                                            "max_award_rate": rate} for id_, ratio, rate in rows])


def downgrade():
    for table in ("awards_certificate", "awards_assignment", "awards_entry_author", "awards_entry", "awards_judge",
                  "awards_category"):
        op.drop_table(table)
    with op.batch_alter_table("awards_competition") as batch:
        for column in ("published_at", "rubric_json", "blind", "disagreement_margin", "judges_per_entry",
                       "max_authors", "school_quota", "per_teacher", "eligible_schools_json", "eligible_roles",
                       "opens_on"):
            batch.drop_column(column)
