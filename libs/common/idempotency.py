"""Retries are safe: a `POST` sent with an `Idempotency-Key` is done once.

The first request with a key claims it (a row of its own, committed before the work), does
the work and keeps its answer; a retry with the same key and the same body gets that answer
again; the same key with another body is 409, and so is a retry while the first is still being
answered. A request whose work fails releases its key, so that it can be retried. Keys are
per caller (API key or user) and per service.

An answer that holds personal data in clear (a reveal) is not kept: the route gives `replay`,
which answers a retry again from the service, without doing the work a second time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import orjson
from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.auth import Principal
from libs.common.problems import Problem
from libs.common.tables import IdempotentRequest

_KEY_HEADER = Header(
    alias="Idempotency-Key",
    min_length=1,  # an empty header is no key: 422, not a key shared by every empty retry
    max_length=255,
    description="Makes a retry safe: the same key and body get the first answer again",
)


@dataclass
class Idempotent:
    """The `Idempotency-Key` of one request, and the means to honour it."""

    sessionmaker: async_sessionmaker[AsyncSession]
    service: str
    key: str | None

    async def run(
        self,
        principal: Principal,
        body: BaseModel | None,
        call: Callable[[], Awaitable[Any]],
        *,
        status_code: int = 200,
        replay: Callable[[], Awaitable[Any]] | None = None,
    ) -> JSONResponse:
        """Do `call` once per key; answer with its result (or the first answer, replayed)."""
        if self.key is None:
            return _answer(status_code, await call())
        request_hash = _hash(body)
        first = await self._claim(principal, request_hash)
        if first is not None:
            return first if replay is None else _answer(first.status_code, await replay())
        try:
            result = await call()
        except BaseException:
            await self._release(principal)
            raise
        answer = _answer(status_code, result)
        await self._keep(principal, answer, keep_body=replay is None)
        return answer

    async def _claim(self, principal: Principal, request_hash: str) -> JSONResponse | None:
        """Claim the key, or return the first answer to replay (409 where there is none); a
        first answer that was not kept comes back with its status and no body."""
        where = self._where(principal)
        try:
            async with self.sessionmaker.begin() as session:
                session.add(
                    IdempotentRequest(
                        service=self.service,
                        principal_id=principal.key_id,
                        key=self.key,
                        request_hash=request_hash,
                    )
                )
            return None
        except IntegrityError:
            pass
        async with self.sessionmaker() as session:
            found = await session.scalar(select(IdempotentRequest).where(*where))
        if found is None:  # released meanwhile: the first attempt failed
            raise Problem(409, "a request with this Idempotency-Key failed; retry it")
        if found.request_hash != request_hash:
            raise Problem(409, "this Idempotency-Key was used with another request body")
        if found.status_code is None:
            raise Problem(409, "a request with this Idempotency-Key is still being answered")
        body = None if found.body is None else orjson.loads(found.body)
        return JSONResponse(body, status_code=found.status_code)

    async def _keep(self, principal: Principal, answer: JSONResponse, *, keep_body: bool) -> None:
        async with self.sessionmaker.begin() as session:
            await session.execute(
                update(IdempotentRequest)
                .where(*self._where(principal))
                .values(
                    status_code=answer.status_code,
                    body=bytes(answer.body) if keep_body else None,
                )
            )

    async def _release(self, principal: Principal) -> None:
        async with self.sessionmaker.begin() as session:
            await session.execute(delete(IdempotentRequest).where(*self._where(principal)))

    def _where(self, principal: Principal) -> tuple[Any, ...]:
        return (
            IdempotentRequest.service == self.service,
            IdempotentRequest.principal_id == principal.key_id,
            IdempotentRequest.key == self.key,
        )


def idempotency(service: str) -> Any:
    """A dependency giving a route of `service` its `Idempotent`."""

    async def dependency(
        request: Request, key: Annotated[str | None, _KEY_HEADER] = None
    ) -> Idempotent:
        runtime = request.app.state.runtime
        return Idempotent(sessionmaker=runtime.sessionmaker, service=service, key=key)

    return Depends(dependency)


def _hash(body: BaseModel | None) -> str:
    data = None if body is None else body.model_dump(mode="json")
    return hashlib.sha256(orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _answer(status_code: int, result: Any) -> JSONResponse:
    # A model's JSON dump is JSON already: walking it again costs more than the dump itself
    # for a long answer (an upload's thousands of alerts).
    if isinstance(result, BaseModel):
        return JSONResponse(result.model_dump(mode="json", by_alias=True), status_code=status_code)
    return JSONResponse(jsonable_encoder(result), status_code=status_code)
