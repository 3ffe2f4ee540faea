"""What every event's data shares: its type, its topic, and how it becomes a CloudEvent."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict

from libs.common.enterprise import normalise_enterprise_name
from libs.common.events import CloudEvent, new_event


class EventData(BaseModel):
    """The `data` of one event type and version; subclasses name `type_` and `topic`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    type_: ClassVar[str]
    topic: ClassVar[str]
    source_service: ClassVar[str]

    def to_event(self, *, subject: str, key: str) -> CloudEvent:
        """Wrap the data in a CloudEvent of this type, keyed for its partition."""
        return new_event(
            service=self.source_service,
            type_=self.type_,
            subject=subject,
            key=key,
            data=self.model_dump(mode="json"),
        )

    @classmethod
    def of(cls, event: CloudEvent) -> Self:
        """Read an event's data as this type (a ValidationError if it is not one)."""
        if event.type != cls.type_:
            raise ValueError(f"expected a {cls.type_} event, got {event.type}")
        return cls.model_validate(event.data)


def partition_key(
    jurisdiction: str, *, credit_code: str | None, name: str | None, fallback: str
) -> str:
    """The Kafka key of an enterprise's events: `<jurisdiction>:<credit code or normalised
    name>`, so that one enterprise's events stay in order; `fallback` (an incident or report
    id, or `cluster`) where an event names no enterprise."""
    who = credit_code or normalise_enterprise_name(name or "")
    return f"{jurisdiction}:{who or fallback}"
