"""The base of every list's filters: an open choice reads "全部" (all), not "---------" or "未知" (issue 15).

A choice filter left empty keeps every row, so its empty option says so; a yes/no filter's open option is
"全部" too, instead of the form's "未知" (unknown), which read as "rows whose value is unknown". The values in
the URL stay what django-filter reads (an empty value, or `unknown` for a yes/no filter), so bookmarked
links keep working and the API's filters are unchanged.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.translation import pgettext_lazy

ALL = pgettext_lazy("filter", "All")


class AllYesNoSelect(forms.NullBooleanSelect):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", ALL), *self.choices[1:]]


def _attrs(attrs: dict) -> str:
    """Django's `attrs.html`, in Python: `True` as a bare name, `False` left out."""
    return "".join(
        f" {escape(name)}" if value is True else f' {escape(name)}="{escape(str(value))}"'
        for name, value in attrs.items()
        if value is not False
    )


class FastSelect(forms.Select):
    """`forms.Select` with the HTML its templates give, written here instead of one template include per
    option: a list's school filter (407 schools at Ningdu scale) took ~100 ms of the page to render through
    the option template (issue 19)."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        parts = [f'<select name="{escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                parts.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            parts.extend(
                f'\n  <option value="{escape(str(option["value"]))}"{_attrs(option["attrs"])}>'
                f"{conditional_escape(option['label'])}</option>\n"
                for option in options
            )
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        return mark_safe("".join(parts))  # every value above is escaped


class PortalFilterSet(django_filters.FilterSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for filter_ in self.filters.values():
            if isinstance(filter_, django_filters.BooleanFilter):
                filter_.extra["widget"] = AllYesNoSelect
            elif isinstance(filter_, django_filters.ChoiceFilter | django_filters.ModelChoiceFilter):
                filter_.extra["empty_label"] = ALL
                filter_.extra.setdefault("widget", FastSelect)
            else:
                continue
            # A form field built before (the API's schema, an earlier request) was copied with the filter:
            # built again, with the label above.
            filter_.__dict__.pop("_field", None)
