"""Sharing with partner departments (信息共享): subscriptions, and signed CloudEvents sent to
them apart from the bodies' own deliveries (CONTRACT.md, "Sharing with partner departments")."""
