"""Fuzz every operation of the OpenAPI document: no 500, and every error is problem+json.

Runs against `laborwatch run` as a real process over real HTTP, with an admin key, so that
the generated requests reach the handlers rather than stopping at authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import free_port
from tests.integration.test_embedded_e2e import Server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(workdir=tmp_path_factory.mktemp("fuzz"), port=free_port())
    s.start()
    s.read_first_admin_key()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def api_schema(server: Server) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


def check_response(response: object) -> None:
    """No server error; an error is RFC 9457 problem+json with the right status."""
    status = response.status_code  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert status < 500, (status, text[:500])
    if status >= 400:
        headers = {k.lower(): v for k, v in response.headers.items()}  # type: ignore[attr-defined]
        content_type = "".join(headers.get("content-type", []))
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
            max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
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
    _ = Path
