"""monitoring: monitored enterprises (定点监测), their monthly figures and alerts

The register (its history kept on every change and end), the observations (every revision
kept), and the alerts (one per enterprise, month, indicator and kind), with the `missing`
timer's next month and due time on each enterprise.

Revision ID: 0009_monitoring
Revises: 0008
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_monitoring"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "monitoring_enterprises",
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.Column("headcount", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missing_period", sa.String(7), nullable=False),
        sa.Column("missing_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("credit_code", name="pk_monitoring_enterprises"),
    )
    op.create_index(
        "ix_monitoring_enterprises_jurisdiction",
        "monitoring_enterprises",
        ["jurisdiction", "region"],
    )
    op.create_index(
        "ix_monitoring_enterprises_missing_due_at",
        "monitoring_enterprises",
        ["missing_due_at"],
        postgresql_where=sa.text("ended_at IS NULL"),
    )
    op.create_table(
        "monitoring_enterprise_history",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_enterprise_history"),
    )
    op.create_index(
        "ix_monitoring_enterprise_history_credit_code",
        "monitoring_enterprise_history",
        ["credit_code"],
    )
    op.create_table(
        "monitoring_observations",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("sender", sa.String(64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("wages_due_yuan", sa.Numeric(18, 2), nullable=False),
        sa.Column("wages_paid_yuan", sa.Numeric(18, 2), nullable=False),
        sa.Column("social_insurance_arrears_months", sa.Integer(), nullable=False),
        sa.Column("layoffs", sa.Integer(), nullable=False),
        sa.Column("disputes", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_observations"),
        sa.UniqueConstraint(
            "credit_code",
            "period",
            "sender",
            "revision",
            name="uq_monitoring_observations_credit_code_period_sender_revision",
        ),
    )
    op.create_index(
        "ix_monitoring_observations_current",
        "monitoring_observations",
        ["credit_code", "is_current", "period"],
    )
    op.create_table(
        "monitoring_alerts",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("jurisdiction", sa.String(64), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("enterprise_name", sa.String(200), nullable=False),
        sa.Column("industry", sa.String(100), nullable=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("indicator", sa.String(40), nullable=False),
        sa.Column("value", sa.String(40), nullable=True),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("reasons_zh", sa.JSON(), nullable=False),
        sa.Column("report_id", sa.String(36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_monitoring_alerts"),
        sa.UniqueConstraint(
            "credit_code",
            "period",
            "indicator",
            "kind",
            name="uq_monitoring_alerts_credit_code_period_indicator_kind",
        ),
    )
    op.create_index(
        "ix_monitoring_alerts_jurisdiction_created",
        "monitoring_alerts",
        ["jurisdiction", "created_at", "id"],
    )


def downgrade() -> None:
    op.drop_table("monitoring_alerts")
    op.drop_table("monitoring_observations")
    op.drop_table("monitoring_enterprise_history")
    op.drop_table("monitoring_enterprises")
