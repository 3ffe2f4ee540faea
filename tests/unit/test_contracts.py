"""The published language (libs.common.contracts): events are made and read through one model
per type and version, so a field renamed on one side fails here, not in a consumer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from libs.common.contracts import (
    EnterpriseRef,
    IncidentData,
    IncidentUpdated,
    IncidentWarning,
    ReportData,
    ReportReceived,
    WarningData,
    partition_key,
)
from libs.common.events import INCIDENT_WARNING, REPORT_RECEIVED, CloudEvent

NOW = dt.datetime(2026, 12, 2, 6, 0, tzinfo=dt.UTC)


def a_report() -> ReportData:
    return ReportData(
        id="r1",
        channel="rest",
        source="agency",
        source_ref=None,
        jurisdiction="changchun",
        region="chaoyang",
        affected_regions=["chaoyang"],
        occurred_at=NOW,
        received_at=NOW,
        enterprise=EnterpriseRef(name="长春某公司", credit_code=None, industry=None),
        category="wage_arrears",
        category_text=None,
        workers_involved=35,
        amount_yuan=Decimal("1200000.00"),
        terminations=0,
        collective_action="possible",
        extreme_individual=False,
        potential_major_impact=False,
        summary=None,
        demands=None,
        location=None,
    )


def test_an_event_goes_through_the_bus_and_back_unchanged() -> None:
    sent = ReportReceived(report=a_report())
    event = sent.to_event(subject="r1", key="changchun:长春某")
    assert event.type == REPORT_RECEIVED
    assert event.source == "/laborwatch/intake" and event.partitionkey == "changchun:长春某"
    received = ReportReceived.of(CloudEvent.from_bytes(event.to_bytes()))
    assert received == sent
    assert received.report.amount_yuan == Decimal("1200000.00")


def test_a_renamed_field_fails_the_reader() -> None:
    event = ReportReceived(report=a_report()).to_event(subject="r1", key="k")
    data = dict(event.data)
    report = dict(data["report"])
    report["workers"] = report.pop("workers_involved")  # a publisher that renamed a field
    renamed = event.model_copy(update={"data": {"report": report}})
    with pytest.raises(ValidationError, match="workers_involved"):
        ReportReceived.of(renamed)


def test_an_event_of_another_type_is_not_read_as_this_one() -> None:
    event = ReportReceived(report=a_report()).to_event(subject="r1", key="k")
    with pytest.raises(ValueError, match=INCIDENT_WARNING):
        IncidentWarning.of(event)


def test_an_update_and_a_warning_share_the_incidents_topic() -> None:
    assert IncidentUpdated.topic == IncidentWarning.topic == INCIDENT_WARNING
    assert IncidentUpdated.type_ != IncidentWarning.type_
    assert "warning" in IncidentWarning.model_fields
    assert WarningData.model_fields["level"].is_required()
    assert IncidentData.model_fields["categories"].is_required()


def test_an_incident_published_before_categories_existed_reads_as_its_one_category() -> None:
    fields = {
        "id": "i1", "jurisdiction": "changchun", "policy": "changchun-2020", "kind": "single",
        "status": "open", "level": None, "level_label": None, "level_rank": 0,
        "provisional": False, "reasons": [], "routed_to": None, "issued_at": None,
        "report_ids": [], "member_ids": [], "cluster_id": None, "corroboration": 1,
        "sources": ["agency"], "enterprise": {"name": None, "credit_code": None, "industry": None},
        "category": "wage_arrears", "region": "chaoyang", "regions": ["chaoyang"],
        "workers_involved": 1, "amount_yuan": "0", "terminations": 0,
        "collective_action": "none", "extreme_individual": False,
        "potential_major_impact": False, "opened_at": NOW, "updated_at": NOW, "drill": False,
    }  # fmt: skip
    assert IncidentData.model_validate(fields).categories == ["wage_arrears"]
    with pytest.raises(ValidationError, match="categories"):
        IncidentData.model_validate(fields | {"categories": "wage_arrears"})


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("91350100M000100Y43", "长春某建筑劳务有限公司", "changchun:91350100M000100Y43"),
        (None, "长春某建筑劳务有限公司", "changchun:长春某建筑劳务"),
        (None, None, "changchun:incident-1"),
    ],
)
def test_the_kafka_key_is_the_enterprise_as_documented(
    code: str | None, name: str | None, expected: str
) -> None:
    assert partition_key("changchun", credit_code=code, name=name, fallback="incident-1") == (
        expected
    )
