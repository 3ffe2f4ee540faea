"""What a batch of events changes in the read model, worked out in memory.

The store reads, in one statement a table, the rows the batch's events touch (`known`); the
tally applies the events to them in order, as the rules of `domain` say, and keeps the rows to
write and what each day's figures move by; the store then writes it all in a few statements.
A batch costs little more than an event, so the read model keeps up with the pipeline.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from services.insight import domain

Row = dict[str, Any]
DayKey = tuple[str, dt.date, str, str]  # jurisdiction, day, measure, key

TABLES = ("reports", "incidents", "notifications", "cases", "alerts")


@dataclass
class Tally:
    """The rows a batch writes (by table, then id) and how far each day's figures move."""

    known: dict[str, dict[str, Row]]  # as stored before the batch: by table, then id
    rows: dict[str, dict[str, Row]] = field(default_factory=lambda: {t: {} for t in TABLES})
    days: defaultdict[DayKey, Decimal] = field(default_factory=lambda: defaultdict(Decimal))

    def current(self, table: str, id_: str) -> Row | None:
        """A fact's row as the batch has left it so far."""
        return self.rows[table].get(id_) or self.known[table].get(id_)

    def move(self, jurisdiction: str, day: dt.date, changes: domain.Contribution) -> None:
        """Move a day's figures by `changes`."""
        for (measure, key), value in changes.items():
            self.days[(jurisdiction, day, measure, key)] += value

    def report(self, row: Row) -> None:
        """Add a report (once: a report never changes what it counts for)."""
        if self.current("reports", row["id"]) is None:
            self.rows["reports"][row["id"]] = row
            self.move(row["jurisdiction"], row["day"], domain.report_counts(row))

    def incident(self, incident: Any, warning: Any, timezone: str) -> None:
        """Add or update an incident; its day's counts move by the difference."""
        old = self.current("incidents", incident.id)
        new = domain.merged_incident(old, incident, warning, timezone)
        self.rows["incidents"][incident.id] = new
        before = domain.incident_counts(old) if old else {}
        self.move(
            new["jurisdiction"], new["day"], domain.difference(before, domain.incident_counts(new))
        )

    def notification(self, row: Row) -> None:
        """Add or update a notification (an acknowledgement once known stays known); the
        counts of the day it falls due move by the difference."""
        old = self.current("notifications", row["id"])
        if old is not None and old["acknowledged_at"] is not None:
            row = {**row, "acknowledged_at": old["acknowledged_at"], "status": old["status"]}
        self.rows["notifications"][row["id"]] = row
        before = domain.notification_counts(old) if old else {}
        if old is not None and old["due_day"] != row["due_day"] and before:
            self.move(row["jurisdiction"], old["due_day"], domain.difference(before, {}))
            before = {}
        if row["due_day"] is not None:
            after = domain.notification_counts(row)
            self.move(row["jurisdiction"], row["due_day"], domain.difference(before, after))

    def case(self, row: Row) -> None:
        """Add or update a case."""
        self.rows["cases"][row["id"]] = row

    def alert(self, row: Row) -> None:
        """Add an alert (once)."""
        if self.current("alerts", row["id"]) is None:
            self.rows["alerts"][row["id"]] = row

    def daily(self) -> list[Row]:
        """The days' moves as rows of `insight_daily`, in a fixed order (no zeros)."""
        return [
            {
                "jurisdiction": j,
                "day": day,
                "measure": m,
                "key": k,
                "month": f"{day:%Y-%m}",
                "value": v,
            }
            for (j, day, m, k), v in sorted(self.days.items())
            if v
        ]

    def monthly(self) -> list[Row]:
        """The same moves summed by month, as rows of `insight_monthly`."""
        months: defaultdict[tuple[str, str, str, str], Decimal] = defaultdict(Decimal)
        for (j, day, m, k), v in self.days.items():
            months[(j, f"{day:%Y-%m}", m, k)] += v
        return [
            {"jurisdiction": j, "month": month, "measure": m, "key": k, "value": v}
            for (j, month, m, k), v in sorted(months.items())
            if v
        ]
