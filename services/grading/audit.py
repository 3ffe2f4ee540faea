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


def verify_chain(entries: Sequence[Any]) -> bool:
    """Say whether a timeline is whole: every entry sealed, each to the one before."""
    prev = GENESIS
    for entry in entries:
        columns = {name: getattr(entry, name) for name in SEALED}
        if entry.prev_hash != prev or seal(columns) != entry.hash:
            return False
        prev = entry.hash
    return True
