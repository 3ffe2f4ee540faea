"""sharing: partner departments' subscriptions, the events shared, and their deliveries

Revision ID: 0012_sharing
Revises: 0008
Create Date: 2026-12-02 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_sharing"
down_revision: str | None = "0011_insight"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TIME = sa.DateTime(timezone=True)
_BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "notifier_subscriptions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("department", sa.String(length=200), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("min_level_rank", sa.Integer(), nullable=False),
        sa.Column("regions", sa.JSON(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=True),
        sa.Column("secret_sealed", sa.Text(), nullable=False),
        sa.Column("previous_secret_sealed", sa.Text(), nullable=True),
        sa.Column("previous_until", _TIME, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("paused_at", _TIME, nullable=True),
        sa.Column("paused_reason", sa.Text(), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("last_delivered_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("request_key", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_subscriptions")),
        sa.UniqueConstraint("request_key", name=op.f("uq_notifier_subscriptions_request_key")),
    )
    op.create_table(
        "notifier_shared_events",
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_notifier_shared_events")),
    )
    op.create_table(
        "notifier_shared_deliveries",
        sa.Column("id", _BIGID, autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.String(length=36), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("give_up_at", _TIME, nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_shared_deliveries")),
        sa.UniqueConstraint(
            "subscription_id",
            "event_id",
            name=op.f("uq_notifier_shared_deliveries_subscription_id_event_id"),
        ),
    )
    op.create_index(
        "ix_notifier_shared_deliveries_due",
        "notifier_shared_deliveries",
        ["status", "next_attempt_at"],
    )
    op.create_index(
        "ix_notifier_shared_deliveries_listing",
        "notifier_shared_deliveries",
        ["subscription_id", "id"],
    )


def downgrade() -> None:
    op.drop_table("notifier_shared_deliveries")
    op.drop_table("notifier_shared_events")
    op.drop_table("notifier_subscriptions")
