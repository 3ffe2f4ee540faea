"""notifier: notifications, deliveries, late reports, channels

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 17:20:09.415889
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notifier_channels",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("body_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=500), nullable=False),
        sa.Column("secret_sealed", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_channels")),
    )
    op.create_index(
        op.f("ix_notifier_channels_body_id"), "notifier_channels", ["body_id"], unique=False
    )
    op.create_table(
        "notifier_deliveries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_deliveries")),
    )
    op.create_index(
        "ix_notifier_deliveries_due",
        "notifier_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notifier_deliveries_notification_id"),
        "notifier_deliveries",
        ["notification_id"],
        unique=False,
    )
    op.create_table(
        "notifier_late_reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("notification_id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("body_id", sa.String(length=128), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_late_reports")),
        sa.UniqueConstraint(
            "notification_id", name=op.f("uq_notifier_late_reports_notification_id")
        ),
    )
    op.create_table(
        "notifier_notifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("incident_id", sa.String(length=36), nullable=False),
        sa.Column("jurisdiction", sa.String(length=64), nullable=False),
        sa.Column("body_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("level_label", sa.String(length=64), nullable=False),
        sa.Column("policy", sa.String(length=64), nullable=False),
        sa.Column("warning_id", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=200), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("escalated_from", sa.String(length=36), nullable=True),
        sa.Column("limit_seconds", sa.Float(), nullable=False),
        sa.Column("escalation_chain", sa.JSON(), nullable=False),
        sa.Column("reminder_fractions", sa.JSON(), nullable=False),
        sa.Column("next_reminder_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders_sent", sa.Integer(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("drill", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifier_notifications")),
        sa.UniqueConstraint(
            "warning_id", "body_id", name=op.f("uq_notifier_notifications_warning_id_body_id")
        ),
    )
    op.create_index(
        op.f("ix_notifier_notifications_body_id"),
        "notifier_notifications",
        ["body_id"],
        unique=False,
    )
    op.create_index(
        "ix_notifier_notifications_created",
        "notifier_notifications",
        ["created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_notifier_notifications_due",
        "notifier_notifications",
        ["status", "due_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_notifier_notifications_incident_id"),
        "notifier_notifications",
        ["incident_id"],
        unique=False,
    )
    op.create_index(
        "ix_notifier_notifications_reminder",
        "notifier_notifications",
        ["status", "next_reminder_at"],
        unique=False,
    )
    op.create_index(
        "uq_notifier_notifications_escalated_from",
        "notifier_notifications",
        ["escalated_from"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("uq_notifier_notifications_escalated_from", table_name="notifier_notifications")
    op.drop_index("ix_notifier_notifications_reminder", table_name="notifier_notifications")
    op.drop_index(
        op.f("ix_notifier_notifications_incident_id"), table_name="notifier_notifications"
    )
    op.drop_index("ix_notifier_notifications_due", table_name="notifier_notifications")
    op.drop_index("ix_notifier_notifications_created", table_name="notifier_notifications")
    op.drop_index(op.f("ix_notifier_notifications_body_id"), table_name="notifier_notifications")
    op.drop_table("notifier_notifications")
    op.drop_table("notifier_late_reports")
    op.drop_index(op.f("ix_notifier_deliveries_notification_id"), table_name="notifier_deliveries")
    op.drop_index("ix_notifier_deliveries_due", table_name="notifier_deliveries")
    op.drop_table("notifier_deliveries")
    op.drop_index(op.f("ix_notifier_channels_body_id"), table_name="notifier_channels")
    op.drop_table("notifier_channels")
