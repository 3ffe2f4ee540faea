"""The clock's handlers: deadlines passed unacknowledged, and reminders before them.

Deadlines live in the database; each turn claims what is due with FOR UPDATE SKIP LOCKED, so
that several replicas share the work and none of it is done twice.
"""

from __future__ import annotations

from services.notifier.domain import Purpose
from services.notifier.metrics import ESCALATIONS, OVERDUE
from services.notifier.service import Notifier


async def fire_deadlines(notifier: Notifier, *, limit: int = 500) -> int:
    """Mark what passed its deadline unacknowledged as overdue, record the late report (迟报),
    and escalate it to the next body up."""
    now = notifier.clock.now()
    store = notifier.store
    async with notifier.sessionmaker.begin() as session:
        due = await store.claim_due(session, now, limit=limit)
        for n in due:
            overdue = n.fire_deadline(now, fractions=notifier.reminder_fractions)
            assert overdue is not None  # claimed as due
            store.save(session, n)
            store.add_late_report(session, overdue.late_report)
            OVERDUE.labels(n.jurisdiction).inc()
            notifier.announce(session, n, "overdue")
            up = overdue.escalation
            if up is None:
                continue  # the top of the chain: recorded as late, nowhere higher to go
            await notifier.issue(session, up, now=now)
            ESCALATIONS.labels(n.jurisdiction).inc()
            notifier.announce(session, n, "escalated", escalated_to=up.id, to_body_id=up.body_id)
    return len(due)


async def send_reminders(notifier: Notifier, *, limit: int = 200) -> int:
    """Queue the reminders whose time has come, for notifications still pending."""
    now = notifier.clock.now()
    store = notifier.store
    async with notifier.sessionmaker.begin() as session:
        claimed = await store.claim_reminders(session, now, limit=limit)
        for n in claimed:
            if n.remind(now):
                store.save(session, n)
                await store.queue(session, n, Purpose.REMINDER, now=now)
                notifier.announce(session, n, "reminded")
    return len(claimed)
