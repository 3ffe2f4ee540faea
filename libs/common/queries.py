"""Query filters that filter, or answer 422: a value that names nothing is a mistake to say,
not an empty list to return."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.exceptions import RequestValidationError
from sqlalchemy import Select, or_

from libs.common.access import ReadScope
from libs.common.db import list_holds
from libs.common.jurisdictions import Registry


def one_of(name: str, value: str | None, allowed: Iterable[str]) -> None:
    """422 naming the query field, as for any other invalid parameter, unless the value is
    one of `allowed` (or absent)."""
    known = sorted(allowed)
    if value is not None and value not in known:
        raise RequestValidationError(
            [
                {
                    "loc": ("query", name),
                    "msg": f"Input should be one of {', '.join(known)}",
                    "type": "enum",
                    "input": value,
                }
            ]
        )


def known_places(registry: Registry, *, jurisdiction: str | None, region: str | None) -> None:
    """A jurisdiction must be one of the registry's, and a region one of that jurisdiction's
    (of any jurisdiction's, where none is named)."""
    one_of("jurisdiction", jurisdiction, registry.ids())
    places = [j for j in registry if jurisdiction in (None, j.id)]
    one_of("region", region, {r for j in places for r in j.region_ids})


def known_body(registry: Registry, body_id: str | None) -> None:
    """A body must be one of the registry's."""
    one_of("body_id", body_id, {b.id for j in registry for b in j.bodies})


def scoped(
    query: Select[Any], scope: ReadScope, *, jurisdiction: Any, regions: Any, bodies: Any
) -> Select[Any]:
    """Narrow a query to what a read scope reads (libs.common.access), for items that lie in
    a jurisdiction and regions and were sent to bodies (JSON lists of ids)."""
    if scope.everything:
        return query
    if scope.jurisdiction is not None:
        query = query.where(jurisdiction == scope.jurisdiction)
    sent = list_holds(bodies, scope.body_id) if scope.body_id else None
    in_region = list_holds(regions, scope.region) if scope.region else None
    if sent is not None and in_region is not None:
        return query.where(or_(in_region, sent))
    if sent is not None:
        return query.where(sent)
    return query.where(in_region) if in_region is not None else query
