"""insight: the read model of every topic, its per-day figures, review meetings, briefings

Insight learns only from events: every table but insight_reviews and insight_briefings is
rebuilt by replaying the topics (`laborwatch insight rebuild`).

Revision ID: 0011_insight
Revises: 0008
Create Date: 2026-12-02 15:16:37.607906
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_insight"
down_revision: str | None = "0010_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "insight_alerts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("credit_code", sa.String(length=18), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("indicator", sa.String(length=48), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_alerts")),
    )
    with op.batch_alter_table("insight_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_insight_alerts_day", ["jurisdiction", "day"], unique=False)

    op.create_table(
        "insight_briefings",
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("narrative", sa.JSON(), nullable=True),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issued_by", sa.String(length=200), nullable=True),
        sa.Column("docx", sa.LargeBinary(), nullable=True),
        sa.Column("xlsx", sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint("jurisdiction", "period", name=op.f("pk_insight_briefings")),
    )
    op.create_table(
        "insight_cases",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_day", sa.Date(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_day", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("responsible_body", sa.String(length=128), nullable=False),
        sa.Column("handling_unit", sa.String(length=200), nullable=True),
        sa.Column("resolution", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_cases")),
    )
    with op.batch_alter_table("insight_cases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_insight_cases_closed", ["jurisdiction", "closed_day"], unique=False
        )
        batch_op.create_index("ix_insight_cases_incident", ["incident_id"], unique=False)
        batch_op.create_index(
            "ix_insight_cases_opened", ["jurisdiction", "opened_day"], unique=False
        )

    op.create_table(
        "insight_daily",
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint(
            "jurisdiction", "day", "measure", "key", name=op.f("pk_insight_daily")
        ),
    )
    op.create_table(
        "insight_monthly",
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.PrimaryKeyConstraint(
            "jurisdiction", "month", "measure", "key", name=op.f("pk_insight_monthly")
        ),
    )
    op.create_table(
        "insight_incidents",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("top_level", sa.String(length=32), nullable=True),
        sa.Column("top_rank", sa.Integer(), nullable=False),
        sa.Column("top_label", sa.String(length=64), nullable=True),
        sa.Column("level", sa.String(length=32), nullable=True),
        sa.Column("level_label", sa.String(length=64), nullable=True),
        sa.Column("lifted", sa.Boolean(), nullable=False),
        sa.Column("workers", sa.Integer(), nullable=False),
        sa.Column("amount_yuan", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("routed_to", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_incidents")),
    )
    with op.batch_alter_table("insight_incidents", schema=None) as batch_op:
        batch_op.create_index("ix_insight_incidents_day", ["jurisdiction", "day"], unique=False)

    op.create_table(
        "insight_notifications",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("body_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_day", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_notifications")),
    )
    with op.batch_alter_table("insight_notifications", schema=None) as batch_op:
        batch_op.create_index(
            "ix_insight_notifications_due", ["jurisdiction", "due_day"], unique=False
        )

    op.create_table(
        "insight_reports",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_reports")),
    )
    with op.batch_alter_table("insight_reports", schema=None) as batch_op:
        batch_op.create_index("ix_insight_reports_day", ["jurisdiction", "day"], unique=False)

    op.create_table(
        "insight_reviews",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("held_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("attendees", sa.JSON(), nullable=False),
        sa.Column("incident_ids", sa.JSON(), nullable=False),
        sa.Column("conclusions", sa.Text(), nullable=False),
        sa.Column("measures", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insight_reviews")),
    )
    with op.batch_alter_table("insight_reviews", schema=None) as batch_op:
        batch_op.create_index("ix_insight_reviews_held", ["jurisdiction", "held_at"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("insight_reviews", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_reviews_held")

    op.drop_table("insight_reviews")
    with op.batch_alter_table("insight_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_reports_day")

    op.drop_table("insight_reports")
    with op.batch_alter_table("insight_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_notifications_due")

    op.drop_table("insight_notifications")
    with op.batch_alter_table("insight_incidents", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_incidents_day")

    op.drop_table("insight_incidents")
    op.drop_table("insight_monthly")
    op.drop_table("insight_daily")
    with op.batch_alter_table("insight_cases", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_cases_opened")
        batch_op.drop_index("ix_insight_cases_incident")
        batch_op.drop_index("ix_insight_cases_closed")

    op.drop_table("insight_cases")
    op.drop_table("insight_briefings")
    with op.batch_alter_table("insight_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_insight_alerts_day")

    op.drop_table("insight_alerts")
