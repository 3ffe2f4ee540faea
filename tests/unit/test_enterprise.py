"""The unified social credit code and the enterprise-name matching key."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from libs.common.enterprise import (
    CREDIT_CODE_ALPHABET,
    CREDIT_CODE_WEIGHTS,
    ENTERPRISE_SUFFIXES,
    REGISTRATION_AUTHORITY_CODES,
    credit_code_check_char,
    is_valid_credit_code,
    normalise_enterprise_name,
)
from tests.support import full_width

# ---------------------------------------------------------------------------
# Unified social credit code
# ---------------------------------------------------------------------------

PUBLIC_CODES = [
    "91350100M000100Y43",
    "91110000802100433B",
    "9144030071526726XG",
    "914403001922038216",
    "91330100716105852F",
    "91110108551385082Q",
]


def _reference_check_char(first17: str) -> str:
    """Compute the check character independently of the module under test."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    total = sum(alphabet.index(c) * (3**i % 31) for i, c in enumerate(first17))
    return alphabet[(31 - total % 31) % 31]


first17_strategy = st.builds(
    lambda authority, category, division, rest: authority + category + division + rest,
    st.sampled_from(REGISTRATION_AUTHORITY_CODES),
    st.sampled_from(CREDIT_CODE_ALPHABET),
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=9, max_size=9),
)


def test_alphabet_and_weights_match_standard() -> None:
    """Check the alphabet and weight constants against GB 32100-2015."""
    assert len(CREDIT_CODE_ALPHABET) == 31
    assert not set("IOZSV") & set(CREDIT_CODE_ALPHABET)
    assert CREDIT_CODE_WEIGHTS == (
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    )  # fmt: skip


@pytest.mark.parametrize("code", PUBLIC_CODES)
def test_public_codes_are_valid(code: str) -> None:
    """Accept publicly published credit codes."""
    assert is_valid_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(
    ("first17", "expected"),
    [
        # 9*1 + 1*3 + 1*9 + 1*27 = 48; 48 % 31 = 17; 31 - 17 = 14 -> "E"
        ("91110000000000000", "E"),
        # 9*1 + 1*3 + 2*9 + 2*27 = 84; 84 % 31 = 22; 31 - 22 = 9 -> "9"
        ("91220000000000000", "9"),
        # 1*1 = 1; 31 - 1 = 30 -> "Y"
        ("10000000000000000", "Y"),
        # 1*1 + 10*3 ("A" at position 2) = 31; 31 % 31 = 0; 31 - 0 = 31 -> mapped to 0
        ("1A000000000000000", "0"),
        # 1*1 + 30*28 ("Y" at position 17) = 841; 841 % 31 = 4; 31 - 4 = 27 -> "U"
        ("1000000000000000Y", "U"),
    ],
)
def test_check_char_hand_computed(first17: str, expected: str) -> None:
    """Compute check characters that were worked out by hand."""
    assert credit_code_check_char(first17) == expected
    assert is_valid_credit_code(first17 + expected)


@given(first17_strategy)
def test_generated_codes_are_valid(first17: str) -> None:
    """Accept every structurally valid code completed with its check character."""
    check = credit_code_check_char(first17)
    assert check == _reference_check_char(first17)
    assert is_valid_credit_code(first17 + check)


@pytest.mark.parametrize("code", PUBLIC_CODES)
def test_every_single_character_mutation_is_rejected(code: str) -> None:
    """Reject every single-character substitution of a valid code."""
    candidates = CREDIT_CODE_ALPHABET + "IOZSVabcxyz-* 中"
    for position in range(len(code)):
        for replacement in candidates:
            if replacement == code[position]:
                continue
            mutated = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_credit_code(mutated), mutated


@given(first17_strategy, st.integers(min_value=0, max_value=17), st.data())
def test_random_single_mutation_is_rejected(
    first17: str, position: int, data: st.DataObject
) -> None:
    """Reject a random single-character substitution of a generated valid code."""
    code = first17 + credit_code_check_char(first17)
    replacement = data.draw(
        st.sampled_from(CREDIT_CODE_ALPHABET).filter(lambda c: c != code[position])
    )
    mutated = code[:position] + replacement + code[position + 1 :]
    assert not is_valid_credit_code(mutated)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "91350100M000100Y4",
        "91350100M000100Y433",
        "91350100M000100Y43 ",
        " 91350100M000100Y43",
    ],
)
def test_wrong_length_is_rejected(code: str) -> None:
    """Reject codes that are not exactly 18 characters."""
    assert not is_valid_credit_code(code)


@pytest.mark.parametrize("letter", list("IOZSV"))
def test_forbidden_letters_are_rejected(letter: str) -> None:
    """Reject codes containing I, O, Z, S or V anywhere."""
    code = "91350100M000100Y43"
    for position in (1, 8, 10, 15, 17):
        assert not is_valid_credit_code(code[:position] + letter + code[position + 1 :])


@pytest.mark.parametrize("code", ["91350100m000100y43", "91110000802100433b"])
def test_lowercase_is_rejected(code: str) -> None:
    """Reject lowercase codes (callers must uppercase themselves)."""
    assert not is_valid_credit_code(code)
    assert is_valid_credit_code(code.upper())


def test_structural_rules_are_enforced() -> None:
    """Reject bad registration authorities and non-digit division codes."""
    for authority in set(CREDIT_CODE_ALPHABET) - set(REGISTRATION_AUTHORITY_CODES):
        first17 = authority + "1110000802100433"
        assert not is_valid_credit_code(first17 + credit_code_check_char(first17))
    first17 = "911A0000802100433"
    assert not is_valid_credit_code(first17 + credit_code_check_char(first17))


@pytest.mark.parametrize(
    "first17", ["", "9111000080210043", "911100008021004333", "9111000080210043I"]
)
def test_check_char_rejects_bad_input(first17: str) -> None:
    """Raise ValueError for wrong length or characters outside the alphabet."""
    with pytest.raises(ValueError):
        credit_code_check_char(first17)


def test_check_char_rejects_lowercase() -> None:
    """Raise ValueError for lowercase input."""
    with pytest.raises(ValueError):
        credit_code_check_char("91350100m000100y4")


# ---------------------------------------------------------------------------
# Enterprise names
# ---------------------------------------------------------------------------


def test_suffix_variants_share_a_key() -> None:
    """Fold legal-form suffix variants and trailing whitespace to one key."""
    names = [
        "长春某建筑劳务有限公司",
        "长春某建筑劳务有限责任公司",
        "长春某建筑劳务公司",
        "长春某建筑劳务有限公司 ",
        " 长春某建筑劳务股份有限公司",
        "长春 某建筑 劳务有限公司",
    ]
    keys = {normalise_enterprise_name(name) for name in names}
    assert keys == {"长春某建筑劳务"}


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("某某集团有限公司", "某某"),
        ("某某集团", "某某"),
        ("某某机械厂", "某某机械"),
        ("某某便利店", "某某便利"),
        ("公司", "公司"),  # nothing would remain, so the suffix is kept
        ("某有限公司有限公司", "某有限公司"),  # stripped only once
    ],
)
def test_suffixes_are_stripped_longest_first_once(name: str, key: str) -> None:
    """Strip the longest known suffix exactly once."""
    assert normalise_enterprise_name(name) == key


def test_punctuation_and_brackets_are_removed() -> None:
    """Remove Chinese and Latin brackets, middle dots and common punctuation."""
    expected = normalise_enterprise_name("吉林长春某物流有限公司")
    for name in [
        "吉林\uff08长春\uff09某物流有限公司",  # full-width parentheses
        "吉林(长春)某物流有限公司",
        "吉林【长春】某物流有限公司",
        "吉林·长春·某物流有限公司",
        "吉林、长春\uff0c某物流有限公司。",  # ideographic and full-width commas
        "吉林\u200b长春某物流有限公司",
    ]:
        assert normalise_enterprise_name(name) == expected


def testfull_width_latin_and_digits_are_folded() -> None:
    """Fold full-width Latin letters and digits and lowercase Latin."""
    assert full_width("ABC123") == "\uff21\uff22\uff23\uff11\uff12\uff13"
    assert normalise_enterprise_name(full_width("长春ABC123科技有限公司")) == "长春abc123科技"
    assert normalise_enterprise_name("长春ABC123科技有限公司") == "长春abc123科技"
    assert normalise_enterprise_name("长春 abc 123 科技公司") == "长春abc123科技"


@given(st.text())
def test_key_has_no_whitespace_and_is_stable(text: str) -> None:
    """Leave no whitespace in the key and keep it unchanged apart from suffix stripping."""
    key = normalise_enterprise_name(text)
    assert not any(char.isspace() for char in key)
    again = normalise_enterprise_name(key)
    assert key.startswith(again)


@pytest.mark.parametrize(
    "name",
    [
        "长春（宏达）建筑劳务有限公司",
        "长春(宏达)建筑劳务有限公司",
        "长春 宏达 建筑劳务有限责任公司",
        "长春【宏达】建筑劳务公司",
    ],
)
def test_brackets_fold_away_whatever_their_width(name: str) -> None:
    """Full-width and half-width brackets, and spaces, do not tell one enterprise from another."""
    assert normalise_enterprise_name(name) == normalise_enterprise_name("长春宏达建筑劳务有限公司")


@given(st.text(max_size=40))
def test_the_key_is_the_one_the_definition_gives(text: str) -> None:
    """The key, computed through a table of the characters met, is the documented one: NFKC,
    lowercased, without whitespace, punctuation, controls and format characters, recomposed,
    the longest legal-form suffix stripped unless nothing would remain."""
    folded = unicodedata.normalize("NFKC", text).lower()
    kept = "".join(
        c
        for c in folded
        if not c.isspace()
        and unicodedata.category(c)[0] not in "PZ"
        and unicodedata.category(c) not in ("Cc", "Cf")
    )
    key = unicodedata.normalize("NFKC", kept)
    for suffix in ENTERPRISE_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            key = key[: -len(suffix)]
            break
    assert normalise_enterprise_name(text) == key
