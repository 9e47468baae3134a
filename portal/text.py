"""What a clerk types: the one cleaner of required free text (reasons, notes that must say something).

A reason made only of spaces, full-width spaces (U+3000) or characters that show nothing (zero-width space,
joiners, byte-order mark, soft hyphen...) is no reason: `required_text` gives "" for it, so that the caller's
"say why" refusal applies. Text with something visible in it is kept as written, without the blanks and
invisible characters around it.
"""

from __future__ import annotations

# Characters that show nothing and that str.isspace() does not know as space.
INVISIBLE = "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u180e"
_INVISIBLE = dict.fromkeys(map(ord, INVISIBLE))


def required_text(text: str | None) -> str:
    """The text without the blanks and invisible characters around it; "" if nothing visible is left."""
    text = text or ""
    while (trimmed := text.strip().strip(INVISIBLE)) != text:
        text = trimmed
    visible = "".join(ch for ch in text.translate(_INVISIBLE) if not ch.isspace())
    return text if visible else ""
