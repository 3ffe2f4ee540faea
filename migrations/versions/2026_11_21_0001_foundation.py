"""foundation: shared machinery and intake

Revision ID: 0001
Revises: (none)
Create Date: 2026-11-21 16:49:29.858499
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=True),
        sa.Column("body_id", sa.String(length=128), nullable=True),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_table(
        "bus_messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bus_messages")),
    )
    op.create_index("ix_bus_messages_topic_id", "bus_messages", ["topic", "id"], unique=False)
    op.create_table(
        "bus_offsets",
        sa.Column("group_name", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("position", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("group_name", "topic", name=op.f("pk_bus_offsets")),
    )
    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "intake_idempotency_keys",
        sa.Column("api_key_id", sa.String(length=36), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id", "key", name=op.f("pk_intake_idempotency_keys")),
    )
    op.create_table(
        "intake_reports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("source_ref", sa.String(length=100), nullable=True),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=64), nullable=False),
        sa.Column("affected_regions", sa.JSON(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("enterprise_name", sa.String(length=200), nullable=True),
        sa.Column("enterprise_credit_code", sa.String(length=18), nullable=True),
        sa.Column("enterprise_industry", sa.String(length=100), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("category_text", sa.String(length=100), nullable=True),
        sa.Column("workers_involved", sa.Integer(), nullable=False),
        sa.Column("amount_yuan", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("terminations", sa.Integer(), nullable=False),
        sa.Column("collective_action", sa.String(length=16), nullable=False),
        sa.Column("extreme_individual", sa.Boolean(), nullable=False),
        sa.Column("potential_major_impact", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("demands", sa.Text(), nullable=True),
        sa.Column("location", sa.Text(), nullable=True),
        sa.Column("reporter_sealed", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.String(length=36), nullable=True),
        sa.Column("incident_id", sa.String(length=36), nullable=True),
        sa.Column("extra", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_reports")),
        sa.UniqueConstraint(
            "source", "source_ref", name=op.f("uq_intake_reports_source_source_ref")
        ),
    )
    op.create_index(
        "ix_intake_reports_incident_id", "intake_reports", ["incident_id"], unique=False
    )
    op.create_index(
        "ix_intake_reports_jurisdiction_received",
        "intake_reports",
        ["jurisdiction", "received_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_intake_reports_received", "intake_reports", ["received_at", "id"], unique=False
    )
    op.create_table(
        "intake_webhook_deliveries",
        sa.Column("webhook_id", sa.String(length=255), nullable=False),
        sa.Column("report_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_intake_webhook_deliveries")),
    )
    op.create_table(
        "outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("producer", sa.String(length=32), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index("ix_outbox_producer_id", "outbox", ["producer", "id"], unique=False)
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_processed_events")),
    )


def downgrade() -> None:
    op.drop_table("processed_events")
    op.drop_index("ix_outbox_producer_id", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("intake_webhook_deliveries")
    op.drop_index("ix_intake_reports_received", table_name="intake_reports")
    op.drop_index("ix_intake_reports_jurisdiction_received", table_name="intake_reports")
    op.drop_index("ix_intake_reports_incident_id", table_name="intake_reports")
    op.drop_table("intake_reports")
    op.drop_table("intake_idempotency_keys")
    op.drop_table("dead_letters")
    op.drop_table("bus_offsets")
    op.drop_index("ix_bus_messages_topic_id", table_name="bus_messages")
    op.drop_table("bus_messages")
    op.drop_table("api_keys")
