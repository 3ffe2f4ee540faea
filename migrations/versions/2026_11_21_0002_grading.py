"""grading: incidents, their reports, the timeline

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 17:11:50.406518
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "grading_incidents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("correlation_key", sa.String(length=300), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("credit_code", sa.String(length=18), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=False),
        sa.Column("workers_involved", sa.Integer(), nullable=False),
        sa.Column("amount_yuan", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("terminations", sa.Integer(), nullable=False),
        sa.Column("collective_action", sa.String(length=16), nullable=False),
        sa.Column("extreme_individual", sa.Boolean(), nullable=False),
        sa.Column("potential_major_impact", sa.Boolean(), nullable=False),
        sa.Column("sources", sa.JSON(), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("level_rank", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("routed_to", sa.String(length=128), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("assessed", sa.Boolean(), nullable=False),
        sa.Column("cluster_id", sa.String(length=36), nullable=True),
        sa.Column("member_ids", sa.JSON(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_report_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grading_incidents")),
    )
    op.create_index(
        "ix_grading_incidents_jurisdiction_opened",
        "grading_incidents",
        ["jurisdiction", "opened_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_grading_incidents_opened", "grading_incidents", ["opened_at", "id"], unique=False
    )
    op.create_index(
        "uq_grading_incidents_open_key",
        "grading_incidents",
        ["correlation_key"],
        unique=True,
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "grading_incident_reports",
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["grading_incidents.id"],
            name=op.f("fk_grading_incident_reports_incident_id_grading_incidents"),
        ),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_grading_incident_reports")),
    )
    op.create_index(
        op.f("ix_grading_incident_reports_incident_id"),
        "grading_incident_reports",
        ["incident_id"],
        unique=False,
    )
    op.create_table(
        "grading_timeline",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["grading_incidents.id"],
            name=op.f("fk_grading_timeline_incident_id_grading_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grading_timeline")),
    )
    op.create_index(
        op.f("ix_grading_timeline_incident_id"), "grading_timeline", ["incident_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_grading_timeline_incident_id"), table_name="grading_timeline")
    op.drop_table("grading_timeline")
    op.drop_index(
        op.f("ix_grading_incident_reports_incident_id"), table_name="grading_incident_reports"
    )
    op.drop_table("grading_incident_reports")
    op.drop_index(
        "uq_grading_incidents_open_key",
        table_name="grading_incidents",
        postgresql_where=sa.text("status = 'open'"),
        sqlite_where=sa.text("status = 'open'"),
    )
    op.drop_index("ix_grading_incidents_opened", table_name="grading_incidents")
    op.drop_index("ix_grading_incidents_jurisdiction_opened", table_name="grading_incidents")
    op.drop_table("grading_incidents")
