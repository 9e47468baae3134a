"""The one cleaner of required free text (portal.text): nothing visible is nothing."""

from __future__ import annotations

import pytest

from portal.text import required_text


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "   ",
        "\u200b",
        "\u200c\u200d",
        "\ufeff",
        "\u3000",
        " \u200b\u3000\ufeff\n\t",
        "\u00ad\u2060",
        # Found by an outside attack: bidi controls, fillers, the blank braille pattern, a variation selector,
        # a tag space, a combining grapheme joiner alone.
        "\u202e",
        "\u202a\u202b\u202c\u202d",
        "\u2066\u2067\u2068\u2069\u061c",
        "\u3164",
        "\u115f\u1160\uffa0",
        "\u2800",
        "\ufe0f",
        "\U000e0020",
        "\u034f",
    ],
)
def test_blank_or_invisible_text_is_empty(text):
    assert required_text(text) == ""


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("补录", "补录"),
        ("\u3000补录\u200b ", "补录"),
        ("\ufeff 补 录 \u200d", "补 录"),
        ("a\u200bb", "a\u200bb"),
        ("\u202e补录\u2800", "补录"),
        ("cafe\u0301", "cafe\u0301"),
    ],
)
def test_visible_text_is_kept_without_the_blanks_around_it(text, kept):
    assert required_text(text) == kept
