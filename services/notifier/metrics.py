"""The notifier's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

NOTIFICATIONS = Gauge("laborwatch_notifications", "Responsible notifications by status", ["status"])
OVERDUE = Counter(
    "laborwatch_notifications_overdue_total", "Deadlines passed unacknowledged", ["jurisdiction"]
)
ESCALATIONS = Counter(
    "laborwatch_escalations_total", "Notifications escalated to the next body up", ["jurisdiction"]
)
ACK_LATENCY = Histogram(
    "laborwatch_acknowledgement_seconds",
    "From issue to acknowledgement (policy time)",
    ["level"],
    buckets=(60, 300, 900, 1800, 3600, 7200, 21600, 43200, 86400, 172800),
)
DELIVERY_FAILURES = Counter(
    "laborwatch_delivery_failures_total", "Failed delivery attempts", ["channel"]
)
