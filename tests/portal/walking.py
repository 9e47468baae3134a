"""Walk the portal as one user: every page reachable from the menu, one page of each kind, and read each page
for words a Chinese reader should not meet (issue 15). Used by tests/portal/test_walk.py."""

from __future__ import annotations

import functools
import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from django.urls import Resolver404, resolve

# Paths not walked: JSON, the admin (Django's own), log-out and language switch (POST), files. The access log
# shows the requests as recorded (paths, record keys, file headers): making it readable is issue 15's "Also".
SKIP_PREFIXES = ("/api/", "/admin/", "/static/", "/media/", "/i18n/", "/accounts/logout/", "/access-log/")
SKIP_SUFFIXES = (".xlsx", ".csv", ".pdf", ".zip", ".json")
# ASCII a Chinese page may show: file types, acronyms, the language selector, units.
ALLOWED_WORDS = {
    "Excel",
    "xlsx",
    "XLSX",
    "csv",
    "CSV",
    "English",
    "API",
    "PDF",
    "OTP",
    "TOTP",
    "ID",
    "QQ",
    "WPS",
}
ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_'-]{2,}")
# "就读学校: 9 → —": a change shown with a foreign key's id instead of its name.
ID_IN_CHANGE = re.compile(r"[:：]\s*\d{1,7}\s*→|→\s*\d{1,7}\s*(?:$|[;；,，])")
ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class _Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.links: list[str] = []
        self.menu: list[str] = []
        self.bad_dates: list[str] = []
        self._skip = 0
        self._in_nav = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "nav" and "mainnav" in (attrs.get("class") or ""):
            self._in_nav += 1
        if tag == "a" and attrs.get("href"):
            (self.menu if self._in_nav else self.links).append(attrs["href"])
        for name in ATTRIBUTES:
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])
        # <input type=date> shows a value only in ISO form: "2026/11/26" leaves the field blank.
        value = attrs.get("value")
        if tag == "input" and attrs.get("type") == "date" and value and not ISO_DATE.fullmatch(value):
            self.bad_dates.append(f"{attrs.get('name')}={value}")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "nav" and self._in_nav:
            self._in_nav -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data.strip())


@functools.cache
def number_fields() -> frozenset[str]:
    """The Chinese names of the fields whose values are numbers (年级, 金额 …), not a relation's id."""
    from django.apps import apps
    from django.db import models
    from django.utils import translation

    numbers = (models.IntegerField, models.DecimalField, models.FloatField)
    with translation.override("zh-hans"):
        return frozenset(
            str(field.verbose_name)
            for model in apps.get_models()
            for field in model._meta.get_fields()
            if isinstance(field, numbers) and not field.is_relation and hasattr(field, "verbose_name")
        )


def page_problems(html: str, *, raw_values: set[str], allowed: set[str] = frozenset()) -> list[str]:
    """The words on one page that are not Chinese: raw choice values, English, an id where a name belongs;
    and date inputs whose value a browser cannot show.

    Capitals alone (an acronym, an authenticator key) and `allowed` (the users' log-in names) are not words.
    """
    page = _Page()
    page.feed(html)
    found = []
    for index, text in enumerate(page.texts):
        for word in ENGLISH_WORD.findall(text):
            if word in ALLOWED_WORDS or word in allowed or word.isupper():
                continue
            kind = "raw value" if word in raw_values else "English"
            found.append(f"{kind} {word!r} in {text[:80]!r}")
        # A change line reads "<b>label</b>: old → new": numbers are right where the field is a number.
        label = page.texts[index - 1] if index else ""
        if ID_IN_CHANGE.search(text) and label not in number_fields():
            found.append(f"id instead of a name in {text[:80]!r}")
    found += [f"date input not in ISO form: {bad}" for bad in page.bad_dates]
    return found


def _kind(path: str) -> str | None:
    """One page of each kind: the route's name (a list, a detail page, a form)."""
    if path.startswith(SKIP_PREFIXES) or path.endswith(SKIP_SUFFIXES):
        return None
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name


def walk(
    client, *, raw_values: set[str], allowed: set[str] = frozenset(), start: str = "/"
) -> tuple[dict[str, list[str]], set[str]]:
    """Visit the menu's pages and, breadth first, one page of each kind linked from them.

    Returns the problems by URL and the kinds visited.
    """
    problems: dict[str, list[str]] = {}
    seen_kinds: set[str] = set()
    queue: deque[str] = deque([start])
    first = True
    while queue:
        url = queue.popleft()
        path = urlsplit(url).path
        kind = _kind(path)
        if kind is None or kind in seen_kinds:
            continue
        seen_kinds.add(kind)
        response = client.get(url)
        if response.status_code != 200:
            problems[url] = [f"HTTP {response.status_code} on a link the page offers"]
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        page = _Page()
        page.feed(html)
        found = page_problems(html, raw_values=raw_values, allowed=allowed)
        if found:
            problems[url] = found
        # The menu's pages first, then what they link to.
        links = page.menu + page.links if first else page.links
        first = False
        for href in links:
            if href.startswith(("#", "mailto:", "javascript:")):
                continue
            absolute = urljoin(url, href)
            parts = urlsplit(absolute)
            if parts.netloc and parts.netloc != "testserver":
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return problems, seen_kinds


def raw_choice_values() -> set[str]:
    """Every stored value of our models' choices ("senior", "national_grant", "draft"...)."""
    from django.apps import apps

    values = set()
    for model in apps.get_models():
        if model._meta.app_label not in {
            "portal",
            "students",
            "subsidies",
            "dropout_control",
            "nutrition",
            "reports",
        }:
            continue
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str):
                    values.add(value)
    return values
