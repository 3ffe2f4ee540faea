"""Masking, redaction and encryption of personal data."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.common.privacy import Cipher, mask_name, mask_phone, redact

# ---------------------------------------------------------------------------
# Masking
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13800138000", "138****8000"),
        (" 13800138000 ", "138****8000"),
        ("043188888888", "043*****8888"),
        ("88888888", "888*8888"),
        ("1234567", "*****67"),
        ("12345", "***45"),
        ("123", "*23"),
        ("12", "**"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    """Mask phone numbers of various lengths."""
    assert mask_phone(phone) == masked


@given(st.text(alphabet="0123456789", min_size=8, max_size=20))
def test_mask_phone_long_numbers(phone: str) -> None:
    """Keep the first 3 and last 4 digits and mask the rest for long numbers."""
    masked = mask_phone(phone)
    assert len(masked) == len(phone)
    assert masked[:3] == phone[:3]
    assert masked[-4:] == phone[-4:]
    assert set(masked[3:-4]) <= {"*"}


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("欧阳娜娜", "欧***"),
        ("李", "*"),
        ("王小明", "王**"),
        (" 张三 ", "张*"),
        ("", ""),
    ],
)
def test_mask_name(name: str, masked: str) -> None:
    """Keep only the first character of a name."""
    assert mask_name(name) == masked


def test_cipher_round_trip_and_random_nonce() -> None:
    cipher = Cipher("k" * 40)
    a = cipher.encrypt("13800138000", context="report")
    b = cipher.encrypt("13800138000", context="report")
    assert a != b  # a fresh nonce each time
    assert "13800138000" not in a
    assert cipher.decrypt(a, context="report") == "13800138000"


def test_cipher_refuses_wrong_key_or_context() -> None:
    from cryptography.exceptions import InvalidTag

    token = Cipher("k" * 40).encrypt("张三", context="report")
    with pytest.raises(InvalidTag):
        Cipher("x" * 40).decrypt(token, context="report")
    with pytest.raises(InvalidTag):
        Cipher("k" * 40).decrypt(token, context="other")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("联系人电话13800138000，请回电", "联系人电话138****8000，请回电"),
        ("身份证420101199001011234", "身份证420101********1234"),
        ("金额 800000 元", "金额 800000 元"),
        ("工号 123456789012", "工号 123456789012"),
    ],
)
def test_redact_masks_phones_and_id_numbers_only(text: str, expected: str) -> None:
    assert redact(text) == expected
