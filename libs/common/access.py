"""Who reads what: the one access rule every service applies (CONTRACT.md v1.1, "Who reads
what").

- An admin reads everything.
- A reporter reads the reports its own key sent, and nothing else.
- A responder of an external body (`changchun.city_government`, the prefecture's body) reads
  only what its body was sent.
- A responder of a body with a region (a township's tripartite body) reads that region's
  items, and anything its body was sent.
- Any other key reads its jurisdiction (all of them, if it has none).

Services describe an item by where it lies (`Item`); a list is narrowed in SQL by the
service's store from the same `ReadScope`.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from libs.common.auth import Principal, Role
from libs.common.problems import Problem


@dataclass(frozen=True)
class Item:
    """Where a thing lies, for the access rule: its jurisdiction, the regions it touches,
    the bodies it was sent to, and the key that submitted it (reports)."""

    jurisdiction: str
    regions: Collection[str] = ()
    bodies: Collection[str] = ()
    submitted_by: str | None = None


@dataclass(frozen=True)
class ReadScope:
    """What a principal may read, as filters a store can put in SQL.

    `None` is no limit. `region` and `body_id` together mean "items of this region, or sent
    to this body"; `body_id` alone (external bodies) means "sent to this body"; `own_key`
    means "submitted by this key"."""

    everything: bool
    jurisdiction: str | None = None
    region: str | None = None
    body_id: str | None = None
    own_key: str | None = None


def scope_of(principal: Principal) -> ReadScope:
    """The read scope of a principal."""
    if principal.role is Role.ADMIN:
        return ReadScope(everything=True)
    if principal.role is Role.REPORTER:
        return ReadScope(everything=False, own_key=principal.key_id)
    if principal.role is Role.RESPONDER and (principal.external or principal.region):
        return ReadScope(
            everything=False,
            jurisdiction=principal.jurisdiction,
            region=None if principal.external else principal.region,
            body_id=principal.body_id,
        )
    return ReadScope(everything=False, jurisdiction=principal.jurisdiction)


def may_read(principal: Principal, item: Item) -> bool:
    """Say whether a principal may read an item."""
    scope = scope_of(principal)
    if scope.everything:
        return True
    if scope.own_key is not None:
        return item.submitted_by == scope.own_key
    if scope.jurisdiction not in (None, item.jurisdiction):
        return False
    if scope.body_id is not None and scope.body_id in item.bodies:
        return True
    if scope.body_id is not None and scope.region is None:
        return False  # an external body reads only what it was sent
    return scope.region is None or scope.region in item.regions


def ensure_jurisdiction(principal: Principal, jurisdiction: str | None) -> str | None:
    """The jurisdiction a list is narrowed to: the one asked for, if the principal may read
    it (else 403), or the principal's own."""
    if principal.role is Role.ADMIN or principal.jurisdiction is None:
        return jurisdiction
    if jurisdiction not in (None, principal.jurisdiction):
        raise Problem(403, f"this key may not read jurisdiction {jurisdiction}")
    return principal.jurisdiction


def readable_or_403(principal: Principal, item: Item | None, what: str) -> None:
    """404 for an item that does not exist; 403 for one the principal may not read."""
    if item is None:
        raise Problem(404, f"no {what}")
    if not may_read(principal, item):
        raise Problem(403, f"this key may not read {what}")


def may_act(principal: Principal) -> bool:
    """Say whether a principal may act (assess, keep channels…) beyond reading and
    acknowledging: an external body's responder may not."""
    return not principal.external


def reads_jurisdiction(principal: Principal, jurisdiction: str) -> bool:
    """Say whether a principal reads anything of a jurisdiction."""
    return principal.role is Role.ADMIN or principal.jurisdiction in (None, jurisdiction)
