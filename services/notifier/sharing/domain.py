"""What is shared with partner departments (信息共享), and with whom: pure rules, no I/O.

An event of the published language becomes at most one `Shared` event: a fixed list of fields
per event type (CONTRACT.md, "Sharing with partner departments"), never a reporter's or
caller's personal data nor any free text. A subscription's `Interest` says which it wants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Final

import orjson

from libs.common.contracts import (
    FIGURE_NAMES,
    CaseEvent,
    IncidentData,
    IncidentUpdated,
    IncidentWarning,
    MonitoringAlert,
)

INCIDENT_WARNING: Final = "incident.warning"
INCIDENT_CLOSED: Final = "incident.closed"
CASE_CLOSED: Final = "case.closed"
MONITORING_ALERT: Final = "monitoring.alert"
EVENTS: Final = (INCIDENT_WARNING, INCIDENT_CLOSED, CASE_CLOSED, MONITORING_ALERT)
SOURCE: Final = "/laborwatch/notifier/sharing"


def cloudevent_type(name: str) -> str:
    """The CloudEvent `type` of a shared event: `laborwatch.shared.incident.warning.v1`."""
    return f"laborwatch.shared.{name}.v1"


@dataclass(frozen=True)
class Shared:
    """One event as partners receive it, and what subscriptions are matched on."""

    event_id: str  # the source event's id: the CloudEvent id and the `webhook-id`
    name: str  # one of EVENTS
    subject: str  # the incident's, case's or alert's id
    time: dt.datetime
    jurisdiction: str
    level_rank: int | None  # None: the event has no level (monitoring alerts)
    regions: tuple[str, ...]
    categories: tuple[str, ...]
    data: dict[str, Any]

    def body(self) -> bytes:
        """The CloudEvent, structured mode (`application/cloudevents+json`)."""
        return orjson.dumps(
            {
                "specversion": "1.0",
                "id": self.event_id,
                "source": SOURCE,
                "type": cloudevent_type(self.name),
                "subject": self.subject,
                "time": self.time.astimezone(dt.UTC).isoformat(),
                "datacontenttype": "application/json",
                "data": self.data,
            }
        )


@dataclass(frozen=True)
class Interest:
    """What a subscription wants: its jurisdiction, events, lowest level and places."""

    jurisdiction: str
    events: Collection[str]
    min_level_rank: int = 0
    regions: Collection[str] | None = None  # None: every region
    categories: Collection[str] | None = None  # None: every category

    def wants(self, shared: Shared) -> bool:
        """Say whether the subscription is sent this event."""
        if shared.name not in self.events or shared.jurisdiction != self.jurisdiction:
            return False
        if shared.level_rank is not None and shared.level_rank < self.min_level_rank:
            return False
        if self.regions is not None and not set(self.regions) & set(shared.regions):
            return False
        return self.categories is None or bool(set(self.categories) & set(shared.categories))


# ----------------------------------------------------------------- the fixed field lists


def incident_fields(incident: IncidentData) -> dict[str, Any]:
    """An incident's shared fields: level, reasons, enterprise, places, figures, times."""
    figures = incident.model_dump(mode="json", include=set(FIGURE_NAMES))
    return {
        "id": incident.id,
        "jurisdiction": incident.jurisdiction,
        "kind": incident.kind,
        "level": incident.level,
        "level_label": incident.level_label,
        "level_rank": incident.level_rank,
        "reasons": list(incident.reasons),
        "reasons_zh": list(incident.reasons_zh),
        "enterprise": {
            "name": incident.enterprise.name,
            "credit_code": incident.enterprise.credit_code,
        },
        "region": incident.region,
        "regions": list(incident.regions),
        "category": incident.category,
        "categories": list(incident.categories),
        "figures": figures,
        "opened_at": _iso(incident.opened_at),
        "updated_at": _iso(incident.updated_at),
        "closed_at": _iso(incident.closed_at),
        "status": incident.status,
        "drill": incident.drill,
    }


def of_warning(event_id: str, time: dt.datetime, event: IncidentWarning) -> Shared:
    """A warning issued (`incident.warning`), or lifted (`incident.closed`, `lifted: true`)."""
    incident, w = event.incident, event.warning
    data = incident_fields(incident)
    # The warning's own level and reasons: the incident's may lag a warning by assessment.
    data.update(
        level=w.level,
        level_label=w.level_label,
        level_rank=w.level_rank if w.level else 0,
        reasons=list(w.reasons),
        reasons_zh=list(w.reasons_zh) or data["reasons_zh"],
        previous_level=w.previous_level,
        issued_at=_iso(w.issued_at),
        lifted=w.level is None,
        drill=w.drill or incident.drill,
    )
    if w.level is None:
        name, rank = INCIDENT_CLOSED, w.previous_level_rank
    else:
        name, rank = INCIDENT_WARNING, w.level_rank or incident.level_rank
    return _incident_shared(event_id, time, incident, name, rank, data)


def of_update(event_id: str, time: dt.datetime, event: IncidentUpdated) -> Shared | None:
    """The update that closed an incident (`incident.closed`); None for any other update."""
    incident = event.incident
    if incident.status != "closed" or incident.closed_at != incident.updated_at:
        return None
    data = incident_fields(incident) | {"lifted": False}
    return _incident_shared(event_id, time, incident, INCIDENT_CLOSED, incident.level_rank, data)


def of_case(
    event_id: str, time: dt.datetime, event: CaseEvent, *, categories: Collection[str] = ()
) -> Shared | None:
    """A case closed (`case.closed`); None for its other steps. `categories` are its
    incident's, as far as the notifier knows them."""
    case = event.case
    if event.step != "closed":
        return None
    data = {
        "id": case.id,
        "incident_id": case.incident_id,
        "jurisdiction": case.jurisdiction,
        "level": case.level,
        "level_label": case.level_label,
        "level_rank": case.level_rank,
        "status": case.status,
        "resolution": case.closed.resolution if case.closed else None,
        "closed_at": _iso(case.closed.at if case.closed else event.at),
        "drill": case.drill,
    }
    return Shared(
        event_id=event_id,
        name=CASE_CLOSED,
        subject=case.id,
        time=time,
        jurisdiction=case.jurisdiction,
        level_rank=case.level_rank,
        regions=tuple(case.regions),
        categories=tuple(categories),
        data=data,
    )


def of_alert(event_id: str, time: dt.datetime, event: MonitoringAlert) -> Shared:
    """A monitored enterprise's alert (`monitoring.alert`): it has no level."""
    alert = event.alert
    category = event.report.category if event.report else None
    data = {
        "id": alert.id,
        "jurisdiction": alert.jurisdiction,
        "region": alert.region,
        "enterprise": {"name": alert.enterprise.name, "credit_code": alert.credit_code},
        "category": category,
        "period": alert.period,
        "kind": alert.kind,
        "indicator": alert.indicator,
        "value": alert.value,
        "reasons": list(alert.reasons),
        "reasons_zh": list(alert.reasons_zh),
        "created_at": _iso(alert.created_at),
        "drill": alert.drill,
    }
    return Shared(
        event_id=event_id,
        name=MONITORING_ALERT,
        subject=alert.id,
        time=time,
        jurisdiction=alert.jurisdiction,
        level_rank=None,
        regions=(alert.region,),
        categories=(category,) if category else (),
        data=data,
    )


def _incident_shared(
    event_id: str,
    time: dt.datetime,
    incident: IncidentData,
    name: str,
    rank: int,
    data: dict[str, Any],
) -> Shared:
    return Shared(
        event_id=event_id,
        name=name,
        subject=incident.id,
        time=time,
        jurisdiction=incident.jurisdiction,
        level_rank=rank,
        regions=tuple(incident.regions or ([incident.region] if incident.region else [])),
        categories=tuple(incident.categories),
        data=data,
    )


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value else None


# ------------------------------------------------------------------ retries and targets


def next_attempt(
    attempts: int,
    *,
    now: dt.datetime,
    give_up_at: dt.datetime,
    base_seconds: float,
    cap_seconds: float,
) -> dt.datetime | None:
    """When to try again after `attempts` failed attempts: exponential backoff, capped, the
    last try at `give_up_at`; None once that has passed (the delivery failed for good)."""
    if now >= give_up_at:
        return None
    delay = dt.timedelta(seconds=min(cap_seconds, base_seconds * 2 ** max(0, attempts - 1)))
    return min(now + delay, give_up_at)
