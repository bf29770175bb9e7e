"""points: earning by use and contribution — rule versions, terms, baselines, the ledger's sources, running totals

Revision ID: 0002_points_earning
Revises: 0001_points
Create Date: 2026-12-07 12:00:00

Existing manual entries keep their amounts and reasons; each gets the source key ``manual:<id>`` and its local
day. The first rule version is the shipped defaults, in effect from 2000-01-01, so every past event has rules.
"""
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0002_points_earning"
down_revision = "0001_points"
branch_labels = None
depends_on = None

LOCAL_ZONE = ZoneInfo("Asia/Shanghai")
# The rule table as shipped with this release (plugins/points/rules.py DEFAULT_RULES at the time): a later release
# that changes the defaults must not change what past entries were credited under.
FIRST_RULES = {
    "actions": {"download": 1, "rate": 1, "share": 1, "study": 2, "view": 1},
    "base": {"archive": 4, "audio": 6, "document": 5, "image": 2, "link": 2, "pdf": 5, "video": 10},
    "daily_caps": {"download": 10, "rate": 5, "share": 50, "study": 20, "view": 20},
    "form_base": {},
    "prizes": {"first": 50, "other": 10, "second": 30, "third": 20},
    "quality": {"excellent": 2.0, "good": 1.5, "none": 1.0, "pass": 1.0},
    "ranking": {"baseline": 0.3, "contribution": 0.4, "use": 0.3},
    "repeat_days": 1,
    "size": {"audio": {"cap": 2, "floor": 0.5, "per": 10}, "document": {"cap": 3, "floor": 0.5, "per": 20},
             "other": {"cap": 2, "floor": 0.5, "per": 10}, "video": {"cap": 3, "floor": 0.5, "per": 10}},
    "study_threshold": 60,
}


def upgrade():
    rule_version = op.create_table(
        "points_rule_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("rules_json", sa.Text(), nullable=False),
        sa.Column("note", sa.String(length=255), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["created_by_id"], ["account.id"],
                                name=op.f("fk_points_rule_version_created_by_id_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_rule_version")),
    )
    op.create_index(op.f("ix_points_rule_version_effective_from"), "points_rule_version", ["effective_from"])
    op.bulk_insert(rule_version, [{"id": 1, "effective_from": date(2000, 1, 1), "note": "",
                                   "rules_json": json.dumps(FIRST_RULES, ensure_ascii=False, sort_keys=True),
                                   "created_by_id": None, "created_at": datetime.now(UTC).replace(tzinfo=None)}])
    if op.get_bind().dialect.name == "postgresql":  # the row above was given its id: move the sequence past it
        op.execute("SELECT setval('points_rule_version_id_seq', 1)")
    op.create_table(
        "points_term",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_term")),
        sa.UniqueConstraint("starts_on", name=op.f("uq_points_term_starts_on")),
    )
    op.create_table(
        "points_baseline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["term_id"], ["points_term.id"], name=op.f("fk_points_baseline_term_id_points_term")),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_points_baseline_school_id_school")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_points_baseline")),
        sa.UniqueConstraint("term_id", "role", "school_id", name="uq_points_baseline"),
    )
    op.create_table(
        "points_person_term",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("contributed", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["account.id"], name=op.f("fk_points_person_term_user_id_account")),
        sa.ForeignKeyConstraint(["term_id"], ["points_term.id"],
                                name=op.f("fk_points_person_term_term_id_points_term")),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_points_person_term_school_id_school")),
        sa.PrimaryKeyConstraint("user_id", "term_id", name=op.f("pk_points_person_term")),
    )
    op.create_index("ix_points_person_term_school", "points_person_term", ["term_id", "school_id"])
    op.create_table(
        "points_school_day",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_points_school_day_school_id_school")),
        sa.PrimaryKeyConstraint("school_id", "day", name=op.f("pk_points_school_day")),
    )
    op.create_table(
        "points_lineage_term",
        sa.Column("lineage_id", sa.Integer(), nullable=False),
        sa.Column("term_id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.Column("studies", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["term_id"], ["points_term.id"],
                                name=op.f("fk_points_lineage_term_term_id_points_term")),
        sa.ForeignKeyConstraint(["school_id"], ["school.id"], name=op.f("fk_points_lineage_term_school_id_school")),
        sa.PrimaryKeyConstraint("lineage_id", "term_id", name=op.f("pk_points_lineage_term")),
    )
    op.create_index("ix_points_lineage_term_school", "points_lineage_term", ["term_id", "school_id"])
    op.create_table(
        "points_counted_event",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_points_counted_event")),
    )
    op.create_table(
        "points_resource_value",
        sa.Column("resource_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("explanation_json", sa.Text(), nullable=False),
        sa.Column("rule_version_id", sa.Integer(), nullable=False),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["rule_version_id"], ["points_rule_version.id"],
                                name=op.f("fk_points_resource_value_rule_version_id_points_rule_version")),
        sa.PrimaryKeyConstraint("resource_id", name=op.f("pk_points_resource_value")),
    )

    with op.batch_alter_table("points_entry") as batch_op:
        batch_op.add_column(sa.Column("source_key", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("rule_version_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lineage_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("school_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("occurred_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("day", sa.Date(), nullable=True))
    entries = sa.table("points_entry", sa.column("id", sa.Integer), sa.column("user_id", sa.Integer),
                       sa.column("created_at", sa.DateTime), sa.column("source_key", sa.String),
                       sa.column("school_id", sa.Integer), sa.column("occurred_at", sa.DateTime),
                       sa.column("day", sa.Date))
    accounts = sa.table("account", sa.column("id", sa.Integer), sa.column("school_id", sa.Integer))
    connection = op.get_bind()
    schools = dict(connection.execute(sa.select(accounts.c.id, accounts.c.school_id)).all())
    for entry_id, user_id, created_at in connection.execute(
            sa.select(entries.c.id, entries.c.user_id, entries.c.created_at)).all():
        connection.execute(entries.update().where(entries.c.id == entry_id).values(
            source_key=f"manual:{entry_id}", school_id=schools.get(user_id), occurred_at=created_at,
            day=created_at.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).date()))
    with op.batch_alter_table("points_entry") as batch_op:
        batch_op.alter_column("source_key", existing_type=sa.String(length=120), nullable=False)
        batch_op.alter_column("occurred_at", existing_type=sa.DateTime(), nullable=False)
        batch_op.alter_column("day", existing_type=sa.Date(), nullable=False)
        batch_op.create_unique_constraint(op.f("uq_points_entry_source_key"), ["source_key"])
        batch_op.create_foreign_key(op.f("fk_points_entry_rule_version_id_points_rule_version"),
                                    "points_rule_version", ["rule_version_id"], ["id"])
        batch_op.create_foreign_key(op.f("fk_points_entry_school_id_school"), "school", ["school_id"], ["id"])
        batch_op.create_index(op.f("ix_points_entry_lineage_id"), ["lineage_id"])
        batch_op.create_index(op.f("ix_points_entry_occurred_at"), ["occurred_at"])
        batch_op.create_index("ix_points_entry_user_day", ["user_id", "day"])


def downgrade():
    with op.batch_alter_table("points_entry") as batch_op:
        batch_op.drop_index("ix_points_entry_user_day")
        batch_op.drop_index(op.f("ix_points_entry_occurred_at"))
        batch_op.drop_index(op.f("ix_points_entry_lineage_id"))
        batch_op.drop_constraint(op.f("fk_points_entry_school_id_school"), type_="foreignkey")
        batch_op.drop_constraint(op.f("fk_points_entry_rule_version_id_points_rule_version"), type_="foreignkey")
        batch_op.drop_constraint(op.f("uq_points_entry_source_key"), type_="unique")
        for column in ("day", "occurred_at", "school_id", "lineage_id", "rule_version_id", "source_key"):
            batch_op.drop_column(column)
    op.drop_table("points_resource_value")
    op.drop_table("points_counted_event")
    op.drop_index("ix_points_lineage_term_school", "points_lineage_term")
    op.drop_table("points_lineage_term")
    op.drop_table("points_school_day")
    op.drop_index("ix_points_person_term_school", "points_person_term")
    op.drop_table("points_person_term")
    op.drop_table("points_baseline")
    op.drop_table("points_term")
    op.drop_index(op.f("ix_points_rule_version_effective_from"), "points_rule_version")
    op.drop_table("points_rule_version")
