"""The one access rule (libs.common.access; CONTRACT.md v1.1, "Who reads what")."""

from __future__ import annotations

import pytest

from libs.common.access import (
    Item,
    ReadScope,
    ensure_jurisdiction,
    may_act,
    may_read,
    readable_or_403,
    scope_of,
)
from libs.common.auth import Principal, Role
from libs.common.problems import Problem


def who(role: Role, **kw: object) -> Principal:
    values: dict[str, object] = {"jurisdiction": None, "body_id": None} | kw
    return Principal(key_id="k", name="n", role=role, **values)  # type: ignore[arg-type]


ADMIN = who(Role.ADMIN)
ANALYST = who(Role.ANALYST, jurisdiction="xuanen")
COUNTY = who(Role.RESPONDER, jurisdiction="xuanen", body_id="xuanen.county.tripartite")
ZHUSHAN = who(
    Role.RESPONDER, jurisdiction="xuanen", body_id="xuanen.zhushan.tripartite", region="zhushan"
)
PREFECTURE = who(
    Role.RESPONDER, jurisdiction="xuanen", body_id="xuanen.prefecture.tripartite", external=True
)
REPORTER = who(Role.REPORTER)

IN_ZHUSHAN = Item("xuanen", regions=["zhushan"], bodies=["xuanen.zhushan.tripartite"])
IN_GAOLUO = Item("xuanen", regions=["gaoluo"], bodies=["xuanen.gaoluo.tripartite"])
GAOLUO_SENT_TO_ZHUSHAN = Item(
    "xuanen", regions=["gaoluo"], bodies=["xuanen.gaoluo.tripartite", "xuanen.zhushan.tripartite"]
)
ESCALATED = Item("xuanen", regions=["gaoluo"], bodies=["xuanen.prefecture.tripartite"])
IN_CHANGCHUN = Item("changchun", regions=["chaoyang"])


@pytest.mark.parametrize(
    ("principal", "item", "expected"),
    [
        (ADMIN, IN_CHANGCHUN, True),
        (ANALYST, IN_ZHUSHAN, True),
        (ANALYST, IN_CHANGCHUN, False),
        (COUNTY, IN_GAOLUO, True),  # a body without a region reads its jurisdiction
        (COUNTY, IN_CHANGCHUN, False),
        (ZHUSHAN, IN_ZHUSHAN, True),  # its region
        (ZHUSHAN, IN_GAOLUO, False),  # another township's
        (ZHUSHAN, GAOLUO_SENT_TO_ZHUSHAN, True),  # what its body was sent
        (PREFECTURE, IN_GAOLUO, False),  # external: only what it received
        (PREFECTURE, ESCALATED, True),
        (REPORTER, IN_ZHUSHAN, False),
        (REPORTER, Item("xuanen", submitted_by="k"), True),  # its own report
        (REPORTER, Item("xuanen", submitted_by="other"), False),
    ],
)
def test_who_reads_what(principal: Principal, item: Item, expected: bool) -> None:
    assert may_read(principal, item) is expected


def test_scopes_a_store_can_put_in_sql() -> None:
    assert scope_of(ADMIN) == ReadScope(everything=True)
    assert scope_of(ANALYST) == ReadScope(everything=False, jurisdiction="xuanen")
    assert scope_of(ZHUSHAN) == ReadScope(
        everything=False,
        jurisdiction="xuanen",
        region="zhushan",
        body_id="xuanen.zhushan.tripartite",
    )
    assert scope_of(PREFECTURE) == ReadScope(
        everything=False, jurisdiction="xuanen", body_id="xuanen.prefecture.tripartite"
    )
    assert scope_of(REPORTER) == ReadScope(everything=False, own_key="k")


def test_another_jurisdiction_is_403_and_a_missing_item_404() -> None:
    with pytest.raises(Problem) as refused:
        readable_or_403(ANALYST, IN_CHANGCHUN, "incident x")
    assert refused.value.status == 403
    with pytest.raises(Problem) as missing:
        readable_or_403(ANALYST, None, "incident x")
    assert missing.value.status == 404
    readable_or_403(ANALYST, IN_ZHUSHAN, "incident x")  # no exception


def test_lists_are_narrowed_to_the_callers_jurisdiction() -> None:
    assert ensure_jurisdiction(ADMIN, None) is None
    assert ensure_jurisdiction(ADMIN, "changchun") == "changchun"
    assert ensure_jurisdiction(ANALYST, None) == "xuanen"
    with pytest.raises(Problem) as refused:
        ensure_jurisdiction(ANALYST, "changchun")
    assert refused.value.status == 403


def test_external_bodies_act_on_nothing() -> None:
    assert may_act(COUNTY) and may_act(ADMIN)
    assert not may_act(PREFECTURE)


def test_who_acted_names_the_key_and_its_body() -> None:
    assert ZHUSHAN.actor == "n (xuanen.zhushan.tripartite)"
    assert ADMIN.actor == "n"
