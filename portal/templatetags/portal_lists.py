"""The list pages' template tags: sortable column heads and money with thousands separators (issue 15)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

CENT = Decimal("0.01")


@register.filter
def money(value) -> str:
    """4561762.5 → "4,561,762.50": yuan with fen and thousands separators, Decimal all the way (no float).

    None or an empty value prints "—"; a value that is not a number is printed as it is.
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, float):  # never expected; converted through its shortest repr, not its binary value
        value = repr(value)
    try:
        amount = Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)
    except (InvalidOperation, TypeError, ValueError):
        return str(value)
    return f"{amount:,.2f}"


@register.simple_tag
def sort_th(listing, key: str, label, css: str = ""):
    """A sortable column's head: a link that sorts by it (again: the other way), with the current order marked."""
    current = listing.sort == key
    if current:
        arrow = "▼" if listing.descending else "▲"
        state = "descending" if listing.descending else "ascending"
        title = (
            _("Sorted descending; click to sort ascending")
            if listing.descending
            else _("Sorted ascending; click to sort descending")
        )
    else:
        arrow, state, title = "", "none", _("Click to sort")
    return format_html(
        '<th{} aria-sort="{}"><a class="sort{}" href="{}" title="{}">{}{}</a></th>',
        format_html(' class="{}"', css) if css else "",
        state,
        " current" if current else "",
        listing.sort_url(key),
        title,
        label,
        format_html(' <span aria-hidden="true">{}</span>', arrow) if arrow else "",
    )
