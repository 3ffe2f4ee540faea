"""Who an enterprise is: its unified social credit code and a matching key for its name."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# ---------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)
# ---------------------------------------------------------------------------

CREDIT_CODE_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 code characters; a character's value is its index (no I, O, Z, S, V)."""

CREDIT_CODE_WEIGHTS: Final[tuple[int, ...]] = tuple(pow(3, i, 31) for i in range(17))
"""Weights 3^(i-1) mod 31 for positions 1..17."""

CREDIT_CODE_LENGTH: Final = 18
"""Number of characters in a unified social credit code (the last is the check character)."""

REGISTRATION_AUTHORITY_CODES: Final = "123456789ABCDEFGNY"
"""Characters allowed at position 1 (registration management authority)."""

_DIGITS: Final = frozenset("0123456789")
_ALPHABET_VALUES: Final[Mapping[str, int]] = MappingProxyType(
    {char: value for value, char in enumerate(CREDIT_CODE_ALPHABET)}
)


def credit_code_check_char(first17: str) -> str:
    """Return the check character for the first 17 characters of a credit code.

    Only length and alphabet are checked here (uppercase required); raises ValueError
    otherwise. Structural rules are enforced by is_valid_credit_code.
    """
    if len(first17) != CREDIT_CODE_LENGTH - 1:
        raise ValueError(f"expected {CREDIT_CODE_LENGTH - 1} characters, got {len(first17)}")
    total = 0
    for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True):
        value = _ALPHABET_VALUES.get(char)
        if value is None:
            raise ValueError(f"character {char!r} is not allowed in a credit code")
        total += value * weight
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    """Return whether code is a well-formed 18-character unified social credit code.

    Checks length, alphabet (uppercase only), registration authority (position 1),
    administrative division digits (positions 3-8) and the check character (position 18).
    The category code (position 2) is only checked against the alphabet.
    """
    if len(code) != CREDIT_CODE_LENGTH:
        return False
    if any(char not in _ALPHABET_VALUES for char in code):
        return False
    if code[0] not in REGISTRATION_AUTHORITY_CODES:
        return False
    if any(char not in _DIGITS for char in code[2:8]):
        return False
    return credit_code_check_char(code[:-1]) == code[-1]


# ---------------------------------------------------------------------------
# Enterprise names
# ---------------------------------------------------------------------------

ENTERPRISE_SUFFIXES: Final[tuple[str, ...]] = tuple(
    sorted(
        (
            "集团股份有限公司",
            "集团有限责任公司",
            "集团有限公司",
            "集团公司",
            "股份有限公司",
            "有限责任公司",
            "有限公司",
            "公司",
            "集团",
            "工作室",
            "合作社",
            "经营部",
            "商行",
            "厂",
            "店",
        ),
        key=len,
        reverse=True,
    )
)
"""Legal-form suffixes folded away by normalise_enterprise_name, longest first."""

_DROPPED_CATEGORY_PREFIXES: Final = ("P", "Z", "Cc", "Cf")


class _Dropped(dict[int, int | None]):
    """For `str.translate`: a character's ordinal -> None where a name key drops it
    (whitespace, punctuation, invisible format characters), itself where it keeps it; each
    character judged once, when first met (a few thousand in a bureau's names)."""

    def __missing__(self, ordinal: int) -> int | None:
        char = chr(ordinal)
        dropped = char.isspace() or unicodedata.category(char).startswith(
            _DROPPED_CATEGORY_PREFIXES
        )
        kept = self[ordinal] = None if dropped else ordinal
        return kept


_DROPPED: Final = _Dropped()


@functools.lru_cache(maxsize=8192)
def normalise_enterprise_name(name: str) -> str:
    """Return a matching key for an enterprise name.

    Applies NFKC, removes whitespace, punctuation (brackets, ·, commas, ...) and invisible
    format characters, lowercases Latin letters and strips the longest matching suffix in
    ENTERPRISE_SUFFIXES once. A suffix is kept if stripping it would leave nothing.

    Cached: a report's name is keyed several times on its way (the code key, the name key,
    the Kafka key, in each service), and a bureau's enterprises are a few thousand names.
    """
    folded = unicodedata.normalize("NFKC", name).lower().translate(_DROPPED)
    # Removing characters can bring combining marks next to new bases: recompose.
    key = unicodedata.normalize("NFKC", folded)
    for suffix in ENTERPRISE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key
