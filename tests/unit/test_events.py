"""The CloudEvents 1.0 envelope: structured JSON that the official SDK reads alike."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import orjson
import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from pydantic import ValidationError

from libs.common.events import (
    CASE,
    CONTENT_TYPE,
    INCIDENT_WARNING,
    MONITORING_ALERT,
    NOTIFICATION,
    REPORT_RECEIVED,
    TOPICS,
    CloudEvent,
    dead_letter_topic,
    new_event,
)

DATA = {
    "report": {
        "id": "r-1",
        "workers_involved": 35,
        "amount_yuan": "1200000.00",
        "enterprise": {"name": "长春某建筑劳务有限公司"},
        "affected": ["a", "b"],
    }
}


def an_event() -> CloudEvent:
    return new_event(
        service="intake",
        type_=REPORT_RECEIVED,
        data=DATA,
        key="changchun:91350100M000100Y43",
        subject="r-1",
    )


def test_the_topics_of_the_contract() -> None:
    assert REPORT_RECEIVED == "laborwatch.report.received.v1"
    assert INCIDENT_WARNING == "laborwatch.incident.warning.v1"
    assert NOTIFICATION == "laborwatch.notification.v1"
    assert set(TOPICS) == {REPORT_RECEIVED, INCIDENT_WARNING, NOTIFICATION, CASE, MONITORING_ALERT}
    assert CONTENT_TYPE == "application/cloudevents+json"


@pytest.mark.parametrize("topic", [REPORT_RECEIVED, INCIDENT_WARNING, NOTIFICATION])
def test_dead_letter_topic(topic: str) -> None:
    assert dead_letter_topic(topic) == topic + ".dlq"


def test_a_new_event_has_the_attributes_of_its_service() -> None:
    event = an_event()
    assert event.specversion == "1.0"
    assert event.source == "/laborwatch/intake"
    assert event.type == REPORT_RECEIVED
    assert event.subject == "r-1"
    assert event.partitionkey == "changchun:91350100M000100Y43"
    assert event.datacontenttype == "application/json"
    assert event.time.tzinfo is not None
    assert abs(dt.datetime.now(dt.UTC) - event.time) < dt.timedelta(seconds=5)
    assert event.id != an_event().id  # unique ids


def test_round_trip_through_bytes() -> None:
    event = an_event()
    raw = event.to_bytes()
    back = CloudEvent.from_bytes(raw)
    assert back == event
    assert back.data == DATA
    assert back.time == event.time
    # Structured mode: one JSON object, attributes at the top, data as JSON (not base64).
    parsed = json.loads(raw)
    assert parsed["specversion"] == "1.0"
    assert parsed["data"] == DATA
    assert "data_base64" not in parsed


def test_absent_optional_attributes_are_left_out() -> None:
    event = new_event(service="grading", type_=INCIDENT_WARNING, data={}, key="k")
    parsed = json.loads(event.to_bytes())
    assert "subject" not in parsed
    assert None not in parsed.values()


def test_the_data_keeps_its_nulls() -> None:
    data: dict[str, Any] = {"warning": None, "incident": {"level": None, "reasons": []}}
    event = new_event(service="grading", type_=INCIDENT_WARNING, data=data, key="k")
    assert json.loads(event.to_bytes())["data"] == data


def test_the_official_sdk_reads_our_bytes() -> None:
    event = an_event()
    sdk = JSONFormat().read(None, event.to_bytes())
    assert sdk.get_specversion() == "1.0"
    assert sdk.get_id() == event.id
    assert sdk.get_source() == "/laborwatch/intake"
    assert sdk.get_type() == REPORT_RECEIVED
    assert sdk.get_subject() == "r-1"
    assert sdk.get_datacontenttype() == "application/json"
    assert sdk.get_time() == event.time
    assert sdk.get_extension("partitionkey") == "changchun:91350100M000100Y43"
    assert sdk.get_data() == DATA


def test_we_read_the_official_sdks_bytes() -> None:
    written = JSONFormat().write(
        SdkEvent(
            {
                "id": "e-1",
                "source": "/other/system",
                "type": NOTIFICATION,
                "specversion": "1.0",
                "time": dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC),
                "datacontenttype": "application/json",
                "partitionkey": "k-1",
                "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            },
            {"notification": {"id": "n-1"}},
        )
    )
    event = CloudEvent.from_bytes(written)
    assert event.id == "e-1"
    assert event.source == "/other/system"
    assert event.type == NOTIFICATION
    assert event.time == dt.datetime(2026, 11, 21, 9, 30, tzinfo=dt.UTC)
    assert event.partitionkey == "k-1"
    assert event.data == {"notification": {"id": "n-1"}}
    # An extension we do not know is kept, and written back.
    again = json.loads(event.to_bytes())
    assert again["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.mark.parametrize("version", ["0.3", "2.0", ""])
def test_another_specversion_is_refused(version: str) -> None:
    raw = orjson.loads(an_event().to_bytes())
    raw["specversion"] = version
    with pytest.raises(ValueError, match="specversion"):
        CloudEvent.from_bytes(orjson.dumps(raw))


@pytest.mark.parametrize("missing", ["source", "type", "data"])
def test_an_event_without_a_required_attribute_is_refused(missing: str) -> None:
    raw = orjson.loads(an_event().to_bytes())
    del raw[missing]
    with pytest.raises(ValueError, match=missing):
        CloudEvent.from_bytes(orjson.dumps(raw))


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'{"specversion": "1.0"'])
def test_bytes_that_are_not_an_event_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):  # a ValidationError (a ValueError) or ours
        CloudEvent.from_bytes(raw)


def test_events_are_immutable() -> None:
    event = an_event()
    with pytest.raises(ValidationError, match="frozen"):
        event.type = NOTIFICATION  # type: ignore[misc]


def test_the_bytes_are_pydantics_own_serialisation_of_the_envelope() -> None:
    """`to_bytes` writes with orjson for speed: byte for byte what pydantic would write, an
    extension attribute and a null inside `data` kept, an unset attribute left out."""
    from pydantic_core import to_json

    event = CloudEvent.model_validate(
        {
            "source": "/laborwatch/grading",
            "type": INCIDENT_WARNING,
            "time": dt.datetime(2026, 12, 7, 8, 30, 0, 120000, tzinfo=dt.UTC),
            "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "data": {"incident": {"level": None, "opened_at": "2026-12-07T08:30:00Z"}},
        }
    )
    assert event.subject is None
    assert event.to_bytes() == to_json(event, exclude_none=True)
    assert b'"time":"2026-12-07T08:30:00.120000Z"' in event.to_bytes()
    assert b'"level":null' in event.to_bytes() and b"subject" not in event.to_bytes()
