"""HTTP as a careful server answers it (issue 12, "HTTP"): security headers, no banner, no
personal data cached, docs that work offline, a limit on failed authentications, and link
tokens kept out of the access log."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Running, assert_problem, free_port, make_settings, running
from tests.integration.test_embedded_e2e import Server

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


async def test_security_headers_on_every_answer(lw: Running) -> None:
    for path in ("/healthz", "/v1/jurisdictions", "/v1/reports/nope", "/docs"):
        r = await lw.client.get(path, headers=lw.auth())
        for name, value in SECURITY.items():
            assert r.headers.get(name) == value, (path, name, r.headers)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


async def test_answers_with_personal_data_are_never_stored(lw: Running) -> None:
    r = await lw.client.get("/v1/reports", headers=lw.auth())
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    r = await lw.client.get("/ack/not-a-token")
    assert r.headers["cache-control"] == "no-store"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_load_everything_from_the_service_itself(lw: Running, page: str) -> None:
    r = await lw.client.get(page)
    assert r.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert sources, r.text
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    for source in sources:
        asset = await lw.client.get(source)
        assert asset.status_code == 200, source
        assert len(asset.content) > 100


@pytest.fixture
async def strict(sqlite_url: str) -> AsyncIterator[Running]:
    async with running(make_settings(database_url=sqlite_url, auth_failures_per_minute=3)) as r:
        yield r


async def test_a_client_guessing_keys_is_answered_429(strict: Running) -> None:
    guess = {"Authorization": "Bearer lw_guess"}
    for _ in range(3):
        assert_problem(await strict.client.get("/v1/reports", headers=guess), 401)
    refused = await strict.client.get("/v1/reports", headers=guess)
    assert_problem(refused, 429)
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # Until the window passes, no key of this client is looked up at all.
    assert_problem(await strict.client.get("/v1/reports", headers=strict.auth()), 429)
    # A client without a key is told so (no lookup, so nothing to limit).
    assert_problem(await strict.client.get("/v1/reports"), 401)


# ------------------------------------------------------------------------ a real server


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    s = Server(workdir=tmp_path_factory.mktemp("served"), port=free_port())
    s.start()
    s.read_first_admin_key()
    yield s
    s.stop()


def test_the_server_names_no_software(served: Server) -> None:
    r = httpx.get(served.url + "/healthz")
    assert "server" not in r.headers, r.headers
    assert r.headers["x-content-type-options"] == "nosniff"


def test_a_link_token_is_not_in_the_access_log(served: Server) -> None:
    token = "tokenABC123.sigXYZ789"
    r = httpx.get(served.url + f"/ack/{token}", headers={"Accept": "text/html"})
    assert r.status_code == 401
    log = Path(served.workdir / "server.log").read_text()
    assert "/ack/***" in log  # the request was logged …
    assert token not in log  # … without its token
