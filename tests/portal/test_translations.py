"""The UI is Chinese first: every catalogue is complete, and the compiled files match their sources."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

BASE = Path(settings.BASE_DIR)
CATALOGUES = sorted(p for p in BASE.glob("**/locale/zh_Hans/LC_MESSAGES/django.po") if ".venv" not in p.parts)


def _entries(po: Path):
    """(msgid, msgstr, fuzzy) for each entry; plural entries give msgstr[0]."""
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            match = re.match(r'^(msgid|msgid_plural|msgstr|msgstr\[0\]) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
            elif not line.startswith('"'):
                current = None if not line.startswith("#") else current
        if fields.get("msgid"):
            msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
            yield fields["msgid"], msgstr, "#, fuzzy" in block or ", fuzzy" in block


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def test_there_are_catalogues():
    assert len(CATALOGUES) >= 3


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(BASE)))
def test_catalogue_is_complete_and_compiled(po: Path):
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: run `make messages`"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr, fuzzy in _entries(po):
        assert msgstr, f"untranslated in {po}: {msgid!r}"
        assert not fuzzy, f"fuzzy in {po}: {msgid!r}"
        assert compiled.gettext(_unescape(msgid)) == _unescape(msgstr) or "%(" in msgid, (
            f"{mo} is older than {po} for {msgid!r}: run `make messages`"
        )


def test_chinese_is_the_default_and_english_is_available():
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override("zh-hans"):
        assert translation.gettext("Students") == "学生"
    with translation.override("en"):
        assert translation.gettext("Students") == "Students"
