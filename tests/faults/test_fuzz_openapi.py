"""Fuzz every operation of the OpenAPI document, and the report body with a property of its own:
no 500, and every error is problem+json; on SQLite and on PostgreSQL (what one database takes,
the other may refuse: NUL, times at the calendar's edge).

Runs against `laborwatch run` as a real process over real HTTP, with an admin key, so that
the generated requests reach the handlers rather than stopping at authentication.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SECRET, empty_pg_database, free_port
from tests.integration.test_embedded_e2e import Server

# Examples per operation on each database: enough to reach every handler's refusals, few
# enough for `make test` on two cores.
EXAMPLES = {"sqlite": 30, "postgres": 20}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with contextlib.ExitStack() as stack:
        env: dict[str, str] = {}
        if request.param == "postgres":  # the server migrates it when it starts
            url = stack.enter_context(empty_pg_database("laborwatch_fuzz"))
            env = {"LABORWATCH_DATABASE_URL": url, "LABORWATCH_SECRET_KEY": SECRET}
        s = Server(workdir=tmp_path_factory.mktemp("fuzz"), port=free_port(), env=env)
        s.start()
        stack.callback(s.stop)
        s.read_first_admin_key()
        yield s


@pytest.fixture(scope="module")
def api_schema(server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


def kind(server: Server) -> str:
    """The database a fuzzed server runs on."""
    return "postgres" if "LABORWATCH_DATABASE_URL" in server.env else "sqlite"


def check_response(response: object) -> None:
    """No server error; an error is RFC 9457 problem+json with the right status."""
    status = response.status_code  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert status < 500, (status, text[:500])
    if status >= 400:
        headers = {k.lower(): v for k, v in response.headers.items()}  # type: ignore[attr-defined]
        content_type = headers.get("content-type", "")
        content_type = "".join(content_type) if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), (status, content_type)
        body = response.json()  # type: ignore[attr-defined]
        assert {"type", "title", "status", "detail"} <= body.keys()
        assert body["status"] == status


def test_no_server_error_and_every_error_is_a_problem(
    api_schema: schemathesis.BaseSchema, server: Server
) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    tried = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES[kind(server)],
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case: schemathesis.Case[Any]) -> None:
            nonlocal tried
            tried += 1
            check_response(case.call(base_url=server.url, headers=headers))

        fuzz()
    assert tried > 100


def test_the_fuzzer_reached_every_operation(api_schema: schemathesis.BaseSchema) -> None:
    operations = {
        (op.ok().method.upper(), op.ok().path)  # type: ignore[union-attr]
        for op in api_schema.get_all_operations()
    }
    assert ("POST", "/v1/reports") in operations
    assert ("POST", "/v1/incidents/{incident_id}/assessment") in operations
    assert ("POST", "/v1/notifications/{notification_id}/ack") in operations
    assert ("POST", "/v1/monitoring/observations") in operations


# ------------------------------------------------------------ the report body, as a property

EDGE_TEXT = ["\x00", "a\x00b", "", " ", "匿名", "0431-88886666转123", "𠀀" * 3, "\ud7ff", "x" * 300]
# Times from the first to the last day of the calendar, in every offset from -14 h to +14 h.
times = st.builds(
    lambda at, minutes: at.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes))).isoformat(),
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
)
texts = st.text(max_size=40) | st.sampled_from(EDGE_TEXT)
numbers = st.integers(min_value=-(10**20), max_value=10**20) | st.floats(
    allow_nan=False, allow_infinity=False
)
amounts = numbers | st.sampled_from(["1200000.00", "-1", "1e400", "0.001", "NaN", "", "１２"])
json_values = st.recursive(
    st.none() | st.booleans() | numbers | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


def maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    """One of the values the schema admits, or now and then anything at all."""
    return st.sampled_from(values) | texts | json_values


report_bodies = st.fixed_dictionaries(
    {
        "source": maybe(["agency", "hotline_12345", "media", "monitoring"]),
        "jurisdiction": maybe(["changchun", "xuanen"]),
        "region": maybe(["chaoyang", "zhushan", "nanguan"]),
        "occurred_at": times | st.sampled_from(["0001-01-01T00:00:00+14:00", "2026-13-01"]),
        "enterprise": st.fixed_dictionaries(
            {"name": texts},
            optional={
                "credit_code": maybe(["91350100M000100Y43", "91350100M000100Y42", "x"]),
                "industry": texts,
            },
        ),
        "category": maybe(["wage_arrears", "layoff", "other"]),
    },
    optional={
        "source_ref": texts,
        "workers_involved": numbers,
        "amount_yuan": amounts,
        "terminations": numbers,
        "collective_action": maybe(["none", "possible", "occurred"]),
        "affected_regions": st.lists(maybe(["chaoyang", "kuancheng"]), max_size=3) | json_values,
        "extreme_individual": st.booleans() | json_values,
        "potential_major_impact": st.booleans(),
        "summary": texts,
        "demands": texts,
        "location": texts,
        "reporter": st.fixed_dictionaries({}, optional={"name": texts, "phone": texts})
        | json_values,
        "unexpected": json_values,
    },
)


def test_no_report_body_makes_a_server_error(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.admin_key}"}
    sent = 0
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as client:

        @given(body=report_bodies | json_values)
        @settings(
            max_examples=120, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def post(body: Any) -> None:
            nonlocal sent
            sent += 1
            check_response(client.post("/v1/reports", json=body))

        post()
    assert sent >= 100
