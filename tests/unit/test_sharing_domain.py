"""Sharing's pure rules: who wants an event, what of it is shared, retries, local targets."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import orjson
import pytest

from libs.common import targets
from libs.common.contracts import IncidentUpdated, IncidentWarning
from services.notifier.sharing import domain
from services.notifier.sharing.domain import Interest, Shared
from tests.integration.partner import alert, case_closed

NOW = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)


def incident(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "jurisdiction": "changchun",
        "policy": "changchun-2020",
        "kind": "single",
        "status": "open",
        "level": "red",
        "level_label": "一级红色预警",
        "level_rank": 3,
        "provisional": True,
        "reasons": ["workers_involved 60 >= 50"],
        "reasons_zh": ["涉及人数60人，达到50人以上"],
        "routed_to": None,
        "issued_at": NOW.isoformat(),
        "report_ids": ["r1"],
        "member_ids": [],
        "cluster_id": None,
        "corroboration": 1,
        "sources": ["agency"],
        "enterprise": {"name": "长春某公司", "credit_code": None, "industry": None},
        "category": "layoff",
        "region": "nanguan",
        "regions": ["nanguan"],
        "workers_involved": 60,
        "amount_yuan": "0",
        "terminations": 0,
        "collective_action": "none",
        "extreme_individual": False,
        "potential_major_impact": False,
        "opened_at": NOW.isoformat(),
        "updated_at": NOW.isoformat(),
        "drill": False,
    }
    data.update(overrides)
    return data


def warning(level: str | None = "red", rank: int = 3, **overrides: Any) -> IncidentWarning:
    w: dict[str, Any] = {
        "level": level,
        "level_label": "一级红色预警" if level else None,
        "level_rank": rank,
        "previous_level": None if level else "red",
        "previous_level_rank": 0 if level else 3,
        "policy": "changchun-2020",
        "reasons": ["workers_involved 60 >= 50"],
        "issued_at": NOW.isoformat() if level else None,
        "drill": False,
        "lifted": level is None,
    }
    return IncidentWarning.model_validate({"incident": incident(**overrides), "warning": w})


def shared(**overrides: Any) -> Shared:
    return domain.of_warning("e1", NOW, warning(**overrides))


@pytest.mark.parametrize(
    ("interest", "wanted"),
    [
        (Interest("changchun", {"incident.warning"}), True),
        (Interest("xuanen", {"incident.warning"}), False),
        (Interest("changchun", {"incident.closed"}), False),
        (Interest("changchun", {"incident.warning"}, min_level_rank=3), True),
        (Interest("changchun", {"incident.warning"}, min_level_rank=4), False),
        (Interest("changchun", {"incident.warning"}, regions={"nanguan", "erdao"}), True),
        (Interest("changchun", {"incident.warning"}, regions={"erdao"}), False),
        (Interest("changchun", {"incident.warning"}, categories={"layoff"}), True),
        (Interest("changchun", {"incident.warning"}, categories={"wage_arrears"}), False),
    ],
)
def test_a_subscription_wants_what_its_filters_let_through(
    interest: Interest, wanted: bool
) -> None:
    assert interest.wants(shared()) is wanted


def test_a_lifted_warning_is_an_incident_closed_at_the_level_it_had() -> None:
    lifted = shared(level=None, rank=0)
    assert lifted.name == "incident.closed"
    assert lifted.data["lifted"] is True
    assert lifted.level_rank == 3  # a min_level_rank 3 partner hears that its red was lifted
    assert Interest("changchun", {"incident.closed"}, min_level_rank=3).wants(lifted)


def test_only_the_update_that_closes_an_incident_is_shared() -> None:
    closed = IncidentUpdated.model_validate(
        {"incident": incident(status="closed", closed_at=NOW.isoformat())}
    )
    later = IncidentUpdated.model_validate(
        {
            "incident": incident(
                status="closed",
                closed_at=NOW.isoformat(),
                updated_at=(NOW + dt.timedelta(hours=1)).isoformat(),
            )
        }
    )
    assert (
        domain.of_update("e", NOW, IncidentUpdated.model_validate({"incident": incident()})) is None
    )
    assert domain.of_update("e", NOW, later) is None
    found = domain.of_update("e", NOW, closed)
    assert found is not None and found.name == "incident.closed"


def test_a_case_is_shared_when_it_closes_and_a_monitoring_alert_has_no_level() -> None:
    event = case_closed("i1", outcome="张三 13812345678")
    found = domain.of_case("e", NOW, event, categories=["layoff"])
    assert found is not None and found.categories == ("layoff",)
    assert "13812345678" not in found.body().decode()
    opened = event.model_copy(update={"step": "opened"})
    assert domain.of_case("e", NOW, opened) is None
    a = domain.of_alert("e", NOW, alert())
    assert a.level_rank is None  # min_level_rank does not hold it back
    assert Interest("changchun", {"monitoring.alert"}, min_level_rank=3).wants(a)


def test_the_body_is_a_cloudevent_with_the_source_events_id() -> None:
    body = orjson.loads(shared(drill=True).body())
    assert body["specversion"] == "1.0"
    assert body["id"] == "e1"
    assert body["type"] == "laborwatch.shared.incident.warning.v1"
    assert body["data"]["drill"] is True
    assert body["data"]["enterprise"] == {"name": "长春某公司", "credit_code": None}


def test_retries_back_off_and_go_on_until_the_window_ends() -> None:
    give_up = NOW + dt.timedelta(hours=24)
    times, at, attempts = [], NOW, 0
    while (nxt := domain.next_attempt(
        attempts + 1, now=at, give_up_at=give_up, base_seconds=10, cap_seconds=3600
    )) is not None:  # fmt: skip
        attempts += 1
        times.append(nxt - at)
        at = nxt
    assert times[:3] == [dt.timedelta(seconds=s) for s in (10, 20, 40)]
    assert max(times) == dt.timedelta(hours=1)
    assert at == give_up  # the last try at the end of the 24 hours


@pytest.mark.parametrize(
    ("address", "local"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("0.0.0.0", True),
        ("::", True),
        ("169.254.169.254", True),
        ("fe80::1", True),
        ("::ffff:127.0.0.1", True),
        ("::ffff:169.254.1.1", True),
        ("10.1.2.3", False),
        ("202.96.128.86", False),
        ("2001:db8::1", False),
    ],
)
def test_local_addresses_are_recognised(address: str, local: bool) -> None:
    assert targets.is_local(address) is local


@pytest.mark.parametrize(
    "url", ["ftp://partner.example/hook", "file:///etc/passwd", "http://", "https://u:p@x.example/"]
)
def test_only_http_urls_with_a_host_are_targets(url: str) -> None:
    with pytest.raises(targets.TargetRefused):
        targets.host_and_port(url)
