"""Rebuild insight's read model by replaying every topic from its start.

The read model is dropped, insight forgets which events it applied, and a consumer group of
its own, new each time, reads the topics from the earliest event they still hold (Kafka:
`auto_offset_reset=earliest` for a group with no committed offset; the in-process bus: its
log from position 0). It applies them exactly as the live consumer does, and records them
under the live consumer's name, so that the live consumer skips what the rebuild applied.
The replay reaches back as far as the topics keep their events: on Kafka, insight's topics
need `retention.ms=-1` to be rebuildable from the beginning; the in-process bus keeps seven
days of events read by every group. Run it with insight stopped.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete

from libs.common.bus import InProcessBus
from libs.common.consumer import ConsumerRunner
from libs.common.runtime import Runtime
from libs.common.tables import BusOffset, ProcessedEvent
from services.insight import store
from services.insight.consumers import CONSUMER, consumer
from services.insight.service import SERVICE


async def rebuild(runtime: Runtime, *, idle_seconds: float = 3.0) -> int:
    """Drop the read model and replay the topics; return how many events were read. The
    replay ends once no event came for `idle_seconds`."""
    live = consumer(runtime.registry)
    async with runtime.sessionmaker.begin() as session:
        await store.clear_read_model(session)
        await session.execute(delete(ProcessedEvent).where(ProcessedEvent.consumer == CONSUMER))
    group = f"{CONSUMER}.rebuild.{uuid.uuid4().hex[:12]}"
    subscription = runtime.bus.subscribe(group=group, topics=live.topics)
    runner = ConsumerRunner(
        live, bus=runtime.bus, sessionmaker=runtime.sessionmaker, outbox=runtime.outbox(SERVICE)
    )
    read, idle = 0, 0.0
    await subscription.start()
    try:
        while idle < idle_seconds:
            messages = await subscription.fetch(0.5)
            if not messages:
                idle += 0.5
                continue
            idle = 0.0
            await runner.process_batch(messages)
            read += len(messages)
    finally:
        await subscription.stop()
        if isinstance(runtime.bus, InProcessBus):
            # A group that stays would hold the log's retention back for ever.
            async with runtime.sessionmaker.begin() as session:
                await session.execute(delete(BusOffset).where(BusOffset.group_name == group))
    return read
