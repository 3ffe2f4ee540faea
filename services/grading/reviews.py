"""Review meetings in the incidents' timelines: insight's `ReviewHeld`, on the case topic.

A review meeting (研判会商, 预警分析会) is recorded by insight; each incident it discussed gets a
`review_held` entry, sealed into its hash-chained timeline like any other.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer, each
from libs.common.contracts.reviews import ReviewHeld
from libs.common.events import CloudEvent
from services.grading.outcome import Happened, Outcome
from services.grading.service import Grading

REVIEW_HELD = "review_held"


def review_consumer(grading: Grading) -> Consumer:
    """Grading's consumer of review meetings (other types on the case topic are passed over)."""

    async def on_event(session: AsyncSession, event: CloudEvent) -> None:
        if event.type != ReviewHeld.type_:
            return
        review = ReviewHeld.of(event)
        detail = {
            "review_id": review.review_id,
            "kind": review.kind,
            "held_at": review.held_at.isoformat(),
        }
        happened = Happened(REVIEW_HELD, review.by, detail, review.conclusions)
        for incident_id in review.incident_ids:
            incident = await grading.store.locked(session, incident_id)
            if incident is not None and incident.jurisdiction == review.jurisdiction:
                await grading.store.record(
                    session, incident, Outcome([happened]), grading.clock.now()
                )

    return Consumer(name="grading.reviews", topics=(ReviewHeld.topic,), apply=each(on_event))
