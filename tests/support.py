"""Small helpers the tests share."""

from __future__ import annotations


def full_width(text: str) -> str:
    """Convert printable ASCII in text to its full-width form (space to U+3000)."""
    return "".join(
        "\u3000" if c == " " else chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text
    )
