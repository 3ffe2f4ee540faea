"""The timeline's seal: each entry's hash covers its columns and the hash before it, so that
an edit or a deletion made behind the API's back shows."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

GENESIS = "0" * 64  # the `prev_hash` of an incident's first entry
SEALED = ("incident_id", "at", "kind", "actor", "detail", "note", "prev_hash")


def seal(entry: Mapping[str, Any]) -> str:
    """The hash of an entry (its columns), covering the hash of the entry before it."""
    body = orjson.dumps(
        {
            "incident_id": entry["incident_id"],
            "at": entry["at"].isoformat(),
            "kind": entry["kind"],
            "actor": entry["actor"],
            "detail": entry["detail"],
            "note": entry["note"],
            "prev": entry["prev_hash"],
        },
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


def verify_chain(
    entries: Sequence[Any], *, head: str | None = None, count: int | None = None
) -> bool:
    """Say whether a timeline is whole: every entry sealed, each to the one before, and (given
    the incident's anchor) the newest one its `head`, `count` entries in all."""
    return chain_fault(entries, head=head, count=count) is None


def chain_fault(
    entries: Sequence[Any], *, head: str | None = None, count: int | None = None
) -> str | None:
    """What is wrong with a timeline, in a few words; None if it is whole."""
    prev = GENESIS
    for position, entry in enumerate(entries, 1):
        columns = {name: getattr(entry, name) for name in SEALED}
        if entry.prev_hash != prev:
            return f"entry {position} (id {entry.id}) does not follow the entry before it"
        if seal(columns) != entry.hash:
            return f"entry {position} (id {entry.id}) was changed after it was written"
        prev = entry.hash
    if count is not None and (len(entries) != count or (head or GENESIS) != prev):
        return f"{len(entries)} entries where {count} were written: the newest are missing"
    return None
