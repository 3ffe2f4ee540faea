"""The small parts of issue 12 on their own: masking in free text, outbound targets, the limit
on failed authentications, input times at the calendar's edge."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import TypeAdapter, ValidationError

from libs.common.auth import FailureLimit
from libs.common.clock import Instant
from libs.common.logs import scrub
from libs.common.privacy import redact
from libs.common.targets import is_local, target_problem, webhook_secret_problem


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13800138000", "电话138****8000"),
        ("+86 135 9999 0002", "+86 135 **** 0002"),
        ("138-1234-5678", "138-****-5678"),
        ("0431-88886666转123", "0431-****6666转123"),
        ("043188886666", "0431****6666"),
        ("身份证22010219900101123X", "身份证220102********123X"),
        ("拖欠1200000元，2026-11-20", "拖欠1200000元，2026-11-20"),
    ],
)
def test_redact_masks_every_kind_of_phone_and_identity_number(text: str, masked: str) -> None:
    assert redact(text) == masked
    assert redact(masked) == masked  # masking twice changes nothing


def test_scrub_drops_link_tokens() -> None:
    assert scrub('"GET /ack/abc.DEF_1-2?x=1 HTTP/1.1"') == '"GET /ack/***?x=1 HTTP/1.1"'


@pytest.mark.parametrize(
    "address",
    ["127.0.0.2", "::1", "169.254.169.254", "fe80::1", "0.0.0.0", "::", "::ffff:127.0.0.1"],
)
def test_local_addresses(address: str) -> None:
    assert is_local(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["10.1.2.3", "8.8.8.8", "2001:db8::1", "::ffff:8.8.8.8"])
def test_other_addresses(address: str) -> None:
    assert not is_local(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    ["gopher://x/", "http://", "http://user:pw@oa.example.gov.cn/", "http://x:99999/", "//x/"],
)
def test_targets_that_are_no_http_url(url: str) -> None:
    assert target_problem(url, allow_local=True) is not None


def test_webhook_secrets() -> None:
    assert webhook_secret_problem("whsec_MDEyMzQ1Njc4OWFiY2RlZg==") is None
    assert webhook_secret_problem("whsec_…") is not None
    assert webhook_secret_problem("whsec_YWJj") is not None  # 3 bytes
    assert webhook_secret_problem("MDEyMzQ1Njc4OWFiY2RlZg==") is not None


def test_failed_authentications_are_limited_per_client_for_a_minute() -> None:
    now = [1000.0]
    limit = FailureLimit(limit=2, clock=lambda: now[0])
    for _ in range(2):
        assert limit.retry_after("a") is None
        limit.failed("a")
    assert limit.retry_after("a") == 61
    assert limit.retry_after("b") is None  # another client
    now[0] += 30
    assert limit.retry_after("a") == 31
    now[0] += 31
    assert limit.retry_after("a") is None


@pytest.mark.parametrize(
    "edge",
    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T12:00:00+00:00"],
)
def test_times_at_the_edge_of_the_calendar_are_refused(edge: str) -> None:
    with pytest.raises(ValidationError, match="calendar"):
        TypeAdapter(Instant).validate_python(edge)


def test_ordinary_times_pass() -> None:
    TypeAdapter(Instant).validate_python("2026-11-20T09:30:00+08:00")
