"""The dashboard's figures, shaped from the API's answers (services/console/figures.py)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from services.console import figures

LEVELS: list[Any] = [
    {"id": "blue", "label": "三级蓝色预警", "rank": 1},
    {"id": "red", "label": "一级红色预警", "rank": 3},
    {"id": "yellow", "label": "二级黄色预警", "rank": 2},
]


def test_the_last_twelve_months_end_with_shanghais_month() -> None:
    # 2026-12-31 17:00 UTC is already January 1st in Shanghai.
    months = figures.last_months(dt.datetime(2026, 12, 31, 17, tzinfo=dt.UTC))
    assert months[0] == "2026-02" and months[-1] == "2027-01" and len(months) == 12


def test_the_quarter_starts_on_its_first_day_in_shanghai() -> None:
    start = figures.quarter_start(dt.datetime(2026, 9, 30, 16, 30, tzinfo=dt.UTC))
    assert start == dt.datetime(2026, 10, 1, tzinfo=figures.SHANGHAI)


def test_the_statistics_range_runs_from_the_first_month_to_today_in_shanghai() -> None:
    now = dt.datetime(2026, 12, 2, 20, tzinfo=dt.UTC)
    span = figures.statistics_range(now, ["2026-01", "2026-12"])
    assert span == {"from": "2026-01-01", "to": "2026-12-03"}


def test_open_warnings_are_shown_per_level_most_severe_first() -> None:
    counted = [(lvl["id"], n) for lvl, n in figures.by_level({"red": 2, "blue": 1}, LEVELS)]
    assert counted == [("red", 2), ("yellow", 0), ("blue", 1)]


def test_the_trend_takes_each_months_levels_from_the_statistics() -> None:
    by_month: list[dict[str, Any]] = [
        {"month": "2025-12", "by_level": {"red": 9}},  # before the chart's months
        {"month": "2026-01", "by_level": {"red": 1, "blue": 0, "none": 4}},
        {"month": "2026-02", "by_level": {"red": 0, "blue": 2}},
    ]
    assert figures.trend(by_month, ["2026-01", "2026-02"]) == {"red": [1, 0], "blue": [0, 2]}


def test_the_on_time_rate_is_on_time_over_decided() -> None:
    record = figures.on_time({"due": 7, "on_time": 3, "late": 1, "open": 3})
    assert (record.decided, record.rate, record.open) == (4, 0.75, 3)
    assert figures.on_time({"on_time": 0, "late": 0, "open": 2}).rate is None


def test_the_tile_map_fills_rows_of_four_in_the_bureaus_order() -> None:
    regions: list[Any] = [{"id": str(n)} for n in range(6)]
    placed = [(r["id"], row, col) for r, row, col in figures.tiles(regions)]
    assert placed[3] == ("3", 0, 3) and placed[4] == ("4", 1, 0)
