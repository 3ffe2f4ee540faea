"""How monitoring's rows are shown: in responses and in the events that announce alerts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row

from libs.common.contracts import AlertData, EnterpriseRef
from services.monitoring.schemas import AlertOut, EnterpriseDetail, EnterpriseOut, ObservationOut


def _yuan(value: Decimal) -> str:
    return f"{value:.2f}"


def enterprise_out(row: Row[Any]) -> EnterpriseOut:
    """A register row for a response."""
    return EnterpriseOut(
        credit_code=row.credit_code,
        name=row.name,
        jurisdiction=row.jurisdiction,
        region=row.region,
        industry=row.industry,
        headcount=row.headcount,
        reason=row.reason,
        note=row.note,
        monitored=row.ended_at is None,
        registered_at=row.registered_at,
        updated_at=row.updated_at,
        ended_at=row.ended_at,
    )


def observation_out(row: Row[Any]) -> ObservationOut:
    """A stored observation for a response."""
    return ObservationOut(
        period=row.period,
        headcount=row.headcount,
        wages_due_yuan=_yuan(row.wages_due_yuan),
        wages_paid_yuan=_yuan(row.wages_paid_yuan),
        social_insurance_arrears_months=row.social_insurance_arrears_months,
        layoffs=row.layoffs,
        disputes=row.disputes,
        revision=row.revision,
        received_at=row.received_at,
    )


def alert_out(row: Row[Any] | dict[str, Any]) -> AlertOut:
    """A stored alert (a row, or the dict it was inserted from) for a response."""
    a = row if isinstance(row, dict) else row._asdict()
    return AlertOut(
        id=a["id"],
        credit_code=a["credit_code"],
        enterprise=EnterpriseRef(
            name=a["enterprise_name"], credit_code=a["credit_code"], industry=a["industry"]
        ),
        jurisdiction=a["jurisdiction"],
        region=a["region"],
        period=a["period"],
        kind=a["kind"],
        indicator=a["indicator"],
        value=a["value"],
        reasons=list(a["reasons"]),
        reasons_zh=list(a["reasons_zh"]),
        report_id=a["report_id"],
        created_at=a["created_at"],
        drill=a["drill"],
    )


def alert_data(a: dict[str, Any]) -> AlertData:
    """An alert as its event carries it (from the row just made of validated figures)."""
    return AlertData(
        id=a["id"],
        jurisdiction=a["jurisdiction"],
        region=a["region"],
        credit_code=a["credit_code"],
        enterprise=EnterpriseRef(
            name=a["enterprise_name"], credit_code=a["credit_code"], industry=a["industry"]
        ),
        period=a["period"],
        kind=a["kind"],
        indicator=a["indicator"],
        value=a["value"],
        reasons=a["reasons"],
        reasons_zh=a["reasons_zh"],
        created_at=a["created_at"],
        drill=a["drill"],
    )


def detail(row: Row[Any], obs: list[Row[Any]], raised: list[Row[Any]]) -> EnterpriseDetail:
    """An enterprise with its recent observations and alerts."""
    return EnterpriseDetail(
        **enterprise_out(row).model_dump(),
        observations=[observation_out(o) for o in obs],
        alerts=[alert_out(a) for a in raised],
    )
