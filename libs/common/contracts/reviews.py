"""Insight's review-meeting events (研判会商, 预警分析会), riding on `laborwatch.case.v1`.

A review meeting discusses incidents; grading puts it in the timeline of each one it
discussed, as it puts a case's steps there. The event rides on the case topic the way
`ReportRevealed` rides on the reports topic: consumers of the topic ignore the types they do
not know.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar, Literal

from libs.common.contracts.base import EventData
from libs.common.events import CASE

REVIEW_HELD = "laborwatch.review.held.v1"


class ReviewHeld(EventData):
    """`laborwatch.review.held.v1`: a review meeting was recorded."""

    type_: ClassVar[str] = REVIEW_HELD
    topic: ClassVar[str] = CASE
    source_service: ClassVar[str] = "insight"

    review_id: str
    jurisdiction: str
    held_at: dt.datetime
    kind: Literal["regular", "special"]
    incident_ids: list[str]
    conclusions: str
    by: str  # the key or user who recorded it
    drill: bool = False
