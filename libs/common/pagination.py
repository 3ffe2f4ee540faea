"""Keyset pagination: an opaque cursor naming the last row of a page (its time and id)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

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


def newest_first(
    query: Select[Any],
    at: InstrumentedAttribute[dt.datetime],
    row_id: InstrumentedAttribute[str],
    *,
    cursor: str | None,
    limit: int,
) -> Select[Any]:
    """Order newest first by (at, id), start after the cursor's row, and fetch one row more
    than a page, which says whether there is a next page."""
    if cursor is not None:
        after_at, after_id = decode_cursor(cursor)
        query = query.where(or_(at < after_at, and_(at == after_at, row_id < after_id)))
    return query.order_by(at.desc(), row_id.desc()).limit(limit + 1)


def next_cursor(
    rows: Sequence[Any], limit: int, at: InstrumentedAttribute[dt.datetime]
) -> str | None:
    """The cursor after a page of `newest_first` rows, or None if it was the last page."""
    if len(rows) <= limit:
        return None
    last = rows[limit - 1]
    return encode_cursor(getattr(last, at.key), last.id)
