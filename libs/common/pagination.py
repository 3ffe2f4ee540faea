"""Keyset pagination: an opaque cursor naming the last row of a page (its time and id)."""

from __future__ import annotations

import base64
import datetime as dt

from libs.common.problems import TYPE_BASE, Problem


def encode_cursor(at: dt.datetime, row_id: str) -> str:
    """Make the cursor that continues after a row."""
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """Read a cursor back; a cursor this API did not give out is a 400."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        when, sep, row_id = raw.partition("|")
        at = dt.datetime.fromisoformat(when)
        if not sep or at.tzinfo is None:
            raise ValueError("not a cursor of ours")
        return at, row_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(
            400, "the cursor is not one this API gave out", type_=TYPE_BASE + "bad-cursor"
        ) from exc
