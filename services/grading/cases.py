"""What grading learns from the cases service (`laborwatch.case.v1`): every step of an
incident's case in its timeline (hash-chained like the rest), the case's id on the incident,
and a closed case closes the incident, which then absorbs no report: a later report on the
same enterprise and category opens a new incident."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.consumer import Consumer, each
from libs.common.contracts import CaseEvent
from libs.common.events import CloudEvent
from services.grading.outcome import Happened, Outcome
from services.grading.service import Grading
from services.grading.words import IncidentStatus

CASES = "cases"  # who acted, for the timeline, where the step names no one


def case_consumer(grading: Grading) -> Consumer:
    """Grading's consumer of case events."""

    async def prepare(session: AsyncSession, events: Sequence[CloudEvent]) -> None:
        ids = [CaseEvent.of(e).case.incident_id for e in events if e.type == CaseEvent.type_]
        await grading.prepare_incidents(session, ids)

    async def on_case(session: AsyncSession, event: CloudEvent) -> None:
        if event.type == CaseEvent.type_:
            await on_step(grading, session, CaseEvent.of(event))

    return Consumer(
        name="grading.cases", topics=(CaseEvent.topic,), apply=each(on_case, prepare=prepare)
    )


async def on_step(grading: Grading, session: AsyncSession, event: CaseEvent) -> None:
    """One step of a case: in the timeline; `closed` closes the incident."""
    incident = await grading.store.locked(session, event.case.incident_id)
    if incident is None:
        return
    detail = {"case_id": event.case.id, "step": event.step, "status": event.case.status}
    if event.case.level is not None:
        detail["level"] = event.case.level
    entry = Happened(f"case_{event.step}", event.by or CASES, detail, event.summary_zh)
    outcome = Outcome([entry])
    incident.case_id = event.case.id  # shown by the API; the published incident has no such field
    if event.step == "closed" and incident.status == IncidentStatus.OPEN:
        closed = incident.close(f"case {event.case.id} closed", grading.clock.now())
        outcome.happened += closed.happened
        outcome.announce = True
    await grading._save(session, incident, outcome, grading.clock.now())
