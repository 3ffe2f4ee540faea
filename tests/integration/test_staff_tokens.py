"""A staff user's token: accepted by every service beside API keys, with the user's own role
and scope, and void once the user changes password or is disabled."""

from __future__ import annotations

import datetime as dt

from libs.common.auth import Role
from libs.common.stafftokens import StaffClaims, sign, signing_key
from services.console.users import change_password, create_user, disable_user
from tests.conftest import Running, assert_problem


def _token(r: Running, user_id: str, name: str, generation: int, **scope: str | None) -> str:
    claims = StaffClaims(
        user_id=user_id,
        name=name,
        role=str(scope.pop("role")),
        jurisdiction=scope.get("jurisdiction"),
        body_id=scope.get("body_id"),
        generation=generation,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
    )
    return sign(claims, signing_key(r.runtime.settings.effective_secret_key))


async def test_a_staff_token_reads_as_its_user_until_the_password_changes(
    embedded: Running,
) -> None:
    db = embedded.runtime.sessionmaker
    user, password = await create_user(
        db, embedded.runtime.registry, name="王芳", role=Role.ANALYST, jurisdiction="changchun"
    )
    token = _token(embedded, user.id, user.name, 1, role="analyst", jurisdiction="changchun")
    auth = {"Authorization": f"Bearer {token}"}
    r = await embedded.client.get("/v1/incidents", headers=auth)
    assert r.status_code == 200, r.text
    # The scope is the user's: another jurisdiction's list is refused.
    assert_problem(
        await embedded.client.get("/v1/incidents?jurisdiction=xuanen", headers=auth), 403
    )
    # An analyst may not acknowledge: the role is the user's, not a master key's.
    assert_problem(await embedded.client.post("/v1/notifications/x/ack", headers=auth), 403)
    assert await change_password(db, user.id, old=password, new="长春市-劳动关系-2026") is None
    assert_problem(await embedded.client.get("/v1/incidents", headers=auth), 401)
    fresh = _token(embedded, user.id, user.name, 2, role="analyst", jurisdiction="changchun")
    r = await embedded.client.get("/v1/incidents", headers={"Authorization": f"Bearer {fresh}"})
    assert r.status_code == 200
    assert await disable_user(db, user.name)
    r = await embedded.client.get("/v1/incidents", headers={"Authorization": f"Bearer {fresh}"})
    assert_problem(r, 401)


async def test_a_forged_token_is_refused(embedded: Running) -> None:
    claims = StaffClaims(
        user_id="nobody",
        name="x",
        role="admin",
        jurisdiction=None,
        body_id=None,
        generation=1,
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
    )
    forged = sign(claims, signing_key("another-secret-key-of-enough-length-000"))
    r = await embedded.client.get("/v1/incidents", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(r, 401)
    # Well signed, but of a user the console never made.
    unknown = sign(claims, signing_key(embedded.runtime.settings.effective_secret_key))
    r = await embedded.client.get("/v1/incidents", headers={"Authorization": f"Bearer {unknown}"})
    assert_problem(r, 401)
