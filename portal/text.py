"""What a clerk types: the one cleaner of required free text (reasons, notes that must say something).

A reason made only of spaces, full-width spaces (U+3000) or characters that show nothing (zero-width space,
joiners, byte-order mark, soft hyphen...) is no reason: `required_text` gives "" for it, so that the caller's
"say why" refusal applies. Text with something visible in it is kept as written, without the blanks and
invisible characters around it.
"""

from __future__ import annotations

import unicodedata

# Letters and symbols that draw nothing (fillers and the blank braille pattern), beside the categories below.
BLANK_LOOKING = "\u115f\u1160\u3164\uffa0\u2800"
# Control and format characters (zero-width space and joiners, bidi controls, byte-order mark, tags ...),
# unassigned and private-use code points, separators, and combining marks standing alone show nothing.
HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"}


def _shows(ch: str) -> bool:
    return ch not in BLANK_LOOKING and unicodedata.category(ch) not in HIDDEN_CATEGORIES


def required_text(text: str | None) -> str:
    """The text without the blanks and invisible characters around it; "" if nothing visible is left."""
    text = text or ""
    shown = [i for i, ch in enumerate(text) if _shows(ch)]
    if not shown:
        return ""
    end = shown[-1] + 1
    while end < len(text) and unicodedata.category(text[end]) in ("Mn", "Me"):  # an accent on the last letter
        end += 1
    return text[shown[0] : end]
