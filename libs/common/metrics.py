"""Prometheus metrics shared by every service."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

HTTP_REQUESTS = Counter(
    "laborwatch_http_requests_total",
    "HTTP requests answered",
    ["service", "method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "laborwatch_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
CONSUMED = Counter(
    "laborwatch_events_consumed_total", "Events a consumer handled", ["consumer", "outcome"]
)
DEAD_LETTERS = Counter(
    "laborwatch_dead_letters_total", "Events a consumer gave up on", ["consumer", "topic"]
)
REPORTS_ACCEPTED = Counter(
    "laborwatch_reports_accepted_total", "Reports accepted by intake", ["channel", "source"]
)
