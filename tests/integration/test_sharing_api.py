"""Sharing's API: subscriptions (admin only), the secret shown once, Idempotency-Key, targets
refused where they are local, redirects not followed, and the delivery-time address check."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services.notifier.sharing.sender import SendError, SharingSender
from tests.conftest import Running, a_report, assert_problem, eventually, submit
from tests.integration.partner import Receiver, serve, sharing_settings

BODY: dict[str, Any] = {
    "name": "市公安局推送",
    "department": "长春市公安局",
    "jurisdiction": "changchun",
    "url": "https://partner.example.test/hook",
    "events": ["incident.warning"],
}


@pytest.fixture
def partner() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


async def test_an_admin_subscribes_lists_reads_and_deletes(embedded: Running) -> None:
    client, admin = embedded.client, embedded.auth()
    r = await client.post("/v1/subscriptions", json=BODY | {"regions": ["nanguan"]}, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["secret"].startswith("whsec_")
    assert created["status"] == "active" and created["regions"] == ["nanguan"]
    assert created["min_level_rank"] == 0 and created["categories"] is None
    sub_id = created["id"]
    r = await client.get(f"/v1/subscriptions/{sub_id}", headers=admin)
    assert r.status_code == 200
    assert "secret" not in r.json()  # shown once
    r = await client.get("/v1/subscriptions", headers=admin)
    assert [s["id"] for s in r.json()["items"]] == [sub_id]
    assert r.json()["next_cursor"] is None
    r = await client.get(f"/v1/subscriptions/{sub_id}/deliveries", headers=admin)
    assert r.json() == {"items": [], "next_cursor": None}
    assert (await client.delete(f"/v1/subscriptions/{sub_id}", headers=admin)).status_code == 204
    assert_problem(await client.get(f"/v1/subscriptions/{sub_id}", headers=admin), 404)
    assert_problem(await client.delete(f"/v1/subscriptions/{sub_id}", headers=admin), 404)


async def test_only_an_admin_may_touch_subscriptions(embedded: Running) -> None:
    for role in ("analyst", "reporter", "responder"):
        headers = embedded.auth(role)
        assert_problem(
            await embedded.client.post("/v1/subscriptions", json=BODY, headers=headers), 403
        )
        assert_problem(await embedded.client.get("/v1/subscriptions", headers=headers), 403)
    assert_problem(await embedded.client.get("/v1/subscriptions"), 401)


async def test_a_retried_create_makes_one_subscription_and_shows_the_same_secret(
    embedded: Running,
) -> None:
    headers = embedded.auth() | {"Idempotency-Key": "create-1"}
    first = await embedded.client.post("/v1/subscriptions", json=BODY, headers=headers)
    again = await embedded.client.post("/v1/subscriptions", json=BODY, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["secret"] == first.json()["secret"]
    other = await embedded.client.post(
        "/v1/subscriptions", json=BODY | {"name": "另一个"}, headers=headers
    )
    assert_problem(other, 409)
    r = await embedded.client.get("/v1/subscriptions", headers=embedded.auth())
    assert len(r.json()["items"]) == 1


async def test_an_empty_idempotency_key_is_refused_naming_the_header(embedded: Running) -> None:
    # Found by the fuzzer: an empty key was taken for a key, and its retry had nothing to
    # answer with (500).
    for _ in range(2):
        r = await embedded.client.post(
            "/v1/subscriptions", json=BODY, headers=embedded.auth() | {"Idempotency-Key": ""}
        )
        problem = assert_problem(r, 422)
        assert problem["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    listed = await embedded.client.get("/v1/subscriptions", headers=embedded.auth())
    assert listed.json()["items"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://[::]/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/hook",
        "http://2130706433/hook",  # 127.0.0.1 written as one number
        "ftp://partner.example.test/hook",
        "partner.example.test/hook",
    ],
)
async def test_local_and_non_http_targets_are_refused(guarded: Running, url: str) -> None:
    r = await guarded.client.post(
        "/v1/subscriptions", json=BODY | {"url": url}, headers=guarded.auth()
    )
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "url"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("jurisdiction", "atlantis"),
        ("regions", ["zhushan"]),  # a Xuan'en township, not Changchun's
        ("events", ["incident.everything"]),
        ("events", []),
        ("min_level_rank", -1),
    ],
)
async def test_a_subscription_names_known_places_and_events(
    embedded: Running, field: str, value: Any
) -> None:
    r = await embedded.client.post(
        "/v1/subscriptions", json=BODY | {field: value}, headers=embedded.auth()
    )
    assert_problem(r, 422)


async def test_each_delivery_checks_the_resolved_address_again(partner: Receiver) -> None:
    port = int(partner.url("/").rsplit(":", 1)[1].split("/")[0])
    async with httpx.AsyncClient() as client:
        sender = SharingSender(client, allow_local=False)
        for host in ("localhost", "127.0.0.1", socket.gethostname()):
            if host == socket.gethostname() and not _is_loopback_name(host):
                continue
            with pytest.raises(SendError, match="loopback"):
                await sender.send(f"http://{host}:{port}/hook", msg_id="m", body="{}", secrets=[])
    assert partner.everything() == []


def _is_loopback_name(host: str) -> bool:
    return any(str(info[4][0]).startswith("127.") for info in socket.getaddrinfo(host, 80))


async def test_a_redirect_is_not_followed(sqlite_url: str, partner: Receiver) -> None:
    partner.answer = lambda path: 307 if path == "/hook" else 200
    async with serve(sharing_settings(sqlite_url)) as system:
        body = BODY | {"url": partner.url("/hook")}
        r = await system.client.post("/v1/subscriptions", json=body, headers=system.auth())
        sub_id = r.json()["id"]
        await submit(system, a_report())

        async def tried() -> list[dict[str, Any]] | None:
            r = await system.client.get(
                f"/v1/subscriptions/{sub_id}/deliveries", headers=system.auth()
            )
            items: list[dict[str, Any]] = r.json()["items"]
            return items if items and items[0]["last_status_code"] == 307 else None

        (logged,) = await eventually(tried)
        assert logged["status"] == "pending"  # tried again later
        assert "307" in logged["last_error"]
        assert partner.at("/elsewhere") == []
