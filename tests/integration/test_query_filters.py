"""Filters filter, or answer 422 naming the field (issue: "Filters that are silently ignored
or accept nonsense"): a value that names nothing is a mistake to say, not an empty list."""

from __future__ import annotations

import pytest

from tests.conftest import Running, assert_problem

NONSENSE = [
    ("/v1/reports", "jurisdiction", "atlantis"),
    ("/v1/reports", "region", "atlantis"),
    ("/v1/reports", "source", "rumour"),
    ("/v1/reports", "category", "bogus"),
    ("/v1/incidents", "jurisdiction", "atlantis"),
    ("/v1/incidents", "level", "purple"),
    ("/v1/incidents", "category", "bogus"),
    ("/v1/incidents", "region", "atlantis"),
    ("/v1/incidents", "status", "lost"),
    ("/v1/incidents", "kind", "swarm"),
    ("/v1/notifications", "body_id", "xuanen.nowhere.tripartite"),
    ("/v1/notifications", "status", "lost"),
    ("/v1/notifications", "closed_reason", "forgotten"),
    ("/v1/notifications/on-time", "jurisdiction", "atlantis"),
]


@pytest.mark.parametrize(("path", "field", "value"), NONSENSE)
async def test_a_filter_that_names_nothing_is_422_naming_it(
    embedded: Running, path: str, field: str, value: str
) -> None:
    r = await embedded.client.get(path, params={field: value}, headers=embedded.auth())
    problem = assert_problem(r, 422)
    assert ["query", field] in [e["loc"] for e in problem["errors"]], problem


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/reports", {"jurisdiction": "xuanen", "region": "zhushan", "category": "layoff"}),
        ("/v1/incidents", {"jurisdiction": "changchun", "level": "red", "region": "chaoyang"}),
        ("/v1/notifications", {"body_id": "xuanen.zhushan.government"}),
        ("/v1/notifications/on-time", {"jurisdiction": "xuanen"}),
    ],
)
async def test_a_filter_that_names_something_is_a_list(
    embedded: Running, path: str, params: dict[str, str]
) -> None:
    r = await embedded.client.get(path, params=params, headers=embedded.auth())
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []
