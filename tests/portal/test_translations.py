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
    """(msgid, msgstr, fuzzy) for each entry; plural entries give msgstr[0]; a msgid with a context is given
    as gettext keys it: "context\x04msgid"."""
    for block in po.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        for line in block.splitlines():
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr|msgstr\[0\]) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
            elif not line.startswith('"'):
                current = None if not line.startswith("#") else current
        if fields.get("msgid"):
            msgstr = fields.get("msgstr", fields.get("msgstr[0]", ""))
            msgid = f"{fields['msgctxt']}\x04{fields['msgid']}" if "msgctxt" in fields else fields["msgid"]
            yield msgid, msgstr, "#, fuzzy" in block or ", fuzzy" in block


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
        assert compiled._catalog.get(_unescape(msgid)) == _unescape(msgstr) or "%(" in msgid, (
            f"{mo} is older than {po} for {msgid!r}: run `make messages`"
        )


def test_chinese_is_the_default_and_english_is_available():
    assert settings.LANGUAGE_CODE == "zh-hans"
    with translation.override("zh-hans"):
        assert translation.gettext("Students") == "学生"
    with translation.override("en"):
        assert translation.gettext("Students") == "Students"


def _runtime(key) -> str:
    """What Django answers at run time for one key of a compiled catalogue (all catalogues merged)."""
    if isinstance(key, tuple):  # a plural entry: (msgid, index)
        key = key[0]
        singular = True
    else:
        singular = False
    context, _, msgid = key.rpartition("\x04")
    if singular:
        return (
            translation.npgettext(context, msgid, msgid, 1)
            if context
            else translation.ngettext(msgid, msgid, 1)
        )
    return translation.pgettext(context, msgid) if context else translation.gettext(msgid)


def test_no_other_catalogue_overrides_our_translations():
    """Django merges every catalogue into one: an app earlier in INSTALLED_APPS (django.contrib.auth, DRF,
    axes...) or another of ours wins on a shared msgid. "Disabled" (残疾) came out as auth's 禁用. Each of our
    msgids must come out as we translated it; a word whose meaning differs gets a context (pgettext)."""
    overridden = []
    with translation.override("zh-hans"):
        for po in CATALOGUES:
            with po.with_suffix(".mo").open("rb") as handle:
                ours = gettext.GNUTranslations(handle)._catalog
            for key, msgstr in ours.items():
                if key == "" or (isinstance(key, tuple) and key[1] != 0):
                    continue
                if _runtime(key) != msgstr:
                    overridden.append(f"{po.relative_to(BASE)}: {key!r} is {_runtime(key)!r}, not {msgstr!r}")
    assert not overridden, "\n".join(overridden)


def test_disabled_category_reads_as_disability_not_deactivated():
    from students.models import StudentCategory

    with translation.override("zh-hans"):
        assert str(StudentCategory.Category.DISABLED.label) == "残疾"
