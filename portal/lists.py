"""Every list page's one mechanism: sorting, page numbers, page size and filters, all in the URL (issue 15).

A view builds its list with `listing(request, queryset, sorts=..., default=...)` and passes the result to its
template as `listing` (and `listing.page` as `page`); the template heads its sortable columns with
`{% sort_th listing "key" label %}` and ends the table with `{% include "lists/pager.html" %}`
(templatetags/portal_lists.py). The filters' form posts to `/search/`, which swaps any ID number for a token and
redirects to the list with the filters in the query string (portal.search), keeping the sort and the page
size: a filtered, sorted page is a URL that can be bookmarked and shared.

- Sorting: `?sort=key` ascending, `?sort=-key` descending; only the keys the view lists (a whitelist: a
  column name in the URL never reaches `order_by` unchecked); every order ends on the primary key in the
  same direction, so rows that tie keep one order from page to page.
- Pages: `?page=N` (out-of-range numbers show the nearest page), `?size=` one of `PAGE_SIZES`.
- Counting: the view chooses the paginator; the big lists use `portal.pagination.CachedCountPaginator`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet
from django.db.models.expressions import OrderBy
from django.http import QueryDict

from portal.pagination import CACHED_COUNT_FROM
from portal.params import parse_int

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50
# The parameters the list itself owns; every other one in the query string is a filter.
LIST_PARAMS = ("sort", "size", "page", "after", "before")
# Sent by every list's filter form: the list was filtered by hand, so a list that opens on a default filter
# (the pending ones, say) leaves out what the form left open ("全部" submits nothing).
FILTERED = "filtered"


def with_default(params: QueryDict, **defaults) -> QueryDict:
    """The list's filters, with `defaults` for those the user has not chosen (unless the form was used)."""
    data = params.copy()
    if FILTERED not in data:
        for name, value in defaults.items():
            data.setdefault(name, value)
    return data


# A page reached by "next" or "previous" on a keyset list carries the row it starts after (or ends before).
CURSOR_PARAMS = ("page", "after", "before")
# How many page numbers the pager shows either side of the current one.
PAGER_SPREAD = 2

Order = str | OrderBy


def _as_order_by(term: Order) -> OrderBy:
    if isinstance(term, OrderBy):
        return term.copy()
    if term.startswith("-"):
        return F(term[1:]).desc()
    return F(term).asc()


def _flipped(term: Order) -> OrderBy:
    order = _as_order_by(term)
    order.descending = not order.descending
    # The whole order turns round, NULLs included: descending is ascending read from the bottom.
    order.nulls_first, order.nulls_last = order.nulls_last, order.nulls_first
    return order


@dataclass
class Listing:
    """One page of a list, as the request asked for it (sort, page, size), with the links to the others."""

    page: Page
    sort: str
    descending: bool
    size: int
    params: QueryDict
    sorts: Sequence[str] = field(default_factory=tuple)
    keyset: bool = False

    @property
    def sort_param(self) -> str:
        return f"-{self.sort}" if self.descending else self.sort

    def query(self, **changes) -> str:
        """This page's query string with `changes` applied (a value of None removes the parameter)."""
        query = self.params.copy()
        for name, value in changes.items():
            query.pop(name, None)
            if value is not None:
                query[name] = str(value)
        return query.urlencode()

    def page_url(self, number: int) -> str:
        return "?" + self.query(page=number)

    def sort_url(self, key: str) -> str:
        """The column's link: ascending first; the current column's link turns the order round."""
        descending = key == self.sort and not self.descending
        return "?" + self.query(sort=f"-{key}" if descending else key, page=None, after=None, before=None)

    @property
    def query_without_page(self) -> str:
        return self.query(page=None, after=None, before=None)

    @property
    def next_url(self) -> str:
        """The next page: on a keyset list, the rows after this page's last one (no OFFSET however deep)."""
        number = self.page.next_page_number()
        if self.keyset and self.page.object_list:
            return "?" + self.query(page=number, after=self.page.object_list[-1].pk, before=None)
        return self.page_prefix + str(number)

    @property
    def previous_url(self) -> str:
        number = self.page.previous_page_number()
        if self.keyset and self.page.object_list and number > 1:
            return "?" + self.query(page=number, before=self.page.object_list[0].pk, after=None)
        return self.page_prefix + str(number)

    @property
    def page_prefix(self) -> str:
        """What a page link starts with: `?<filters, sort, size>&page=` (the number follows)."""
        query = self.query_without_page
        return f"?{query}&page=" if query else "?page="

    def hidden_params(self, *, keep: Sequence[str] = ()) -> list[tuple[str, str]]:
        """The parameters a GET form on the page (jump to page, page size) must carry along, except its own."""
        own = {*CURSOR_PARAMS, "size"} - set(keep)
        return [(name, value) for name, values in self.params.lists() if name not in own for value in values]

    @property
    def filter_hidden(self) -> list[tuple[str, str]]:
        """What the filter form carries along besides its filters: the sort and the page size."""
        return [(name, self.params[name]) for name in ("sort", "size") if self.params.get(name)]

    @property
    def page_numbers(self) -> list[int | None]:
        """1 … 4 5 [6] 7 8 … 20: the first, the last and those near the current page; None for a gap."""
        last = self.page.paginator.num_pages
        current = self.page.number
        shown = sorted(
            {1, last, *range(max(1, current - PAGER_SPREAD), min(last, current + PAGER_SPREAD) + 1)}
        )
        numbers: list[int | None] = []
        for number in shown:
            if numbers and number - (numbers[-1] or 0) > 1:
                numbers.append(None)
            numbers.append(number)
        return numbers

    @property
    def page_sizes(self) -> tuple[int, ...]:
        return PAGE_SIZES


def read_sort(
    params: Mapping[str, str], sorts: Mapping[str, Sequence[Order]], default: str
) -> tuple[str, bool]:
    """(key, descending) the query string asks for, if the list allows that key; else the list's default."""
    asked = params.get("sort") or ""
    key, descending = (asked[1:], True) if asked.startswith("-") else (asked, False)
    if key in sorts:
        return key, descending
    return (default[1:], True) if default.startswith("-") else (default, False)


def ordering(sorts: Mapping[str, Sequence[Order]], key: str, descending: bool) -> list[OrderBy]:
    """The ORDER BY of a sort key, turned round when descending, ending on the primary key (a stable order)."""
    terms = [*sorts[key], "pk"]
    return [_flipped(term) if descending else _as_order_by(term) for term in terms]


def read_size(params: Mapping[str, str], default: int | None = None) -> int:
    size = parse_int(params.get("size"))
    return size if size in PAGE_SIZES else (default or DEFAULT_PAGE_SIZE)


def listing(
    request,
    queryset: QuerySet,
    *,
    sorts: Mapping[str, Sequence[Order]],
    default: str,
    params: QueryDict | None = None,
    paginator_class: type[Paginator] = Paginator,
    per_page: int | None = None,
    keyset: bool = False,
    jump_by_group: Sequence[str] = (),
) -> Listing:
    """Sort `queryset` as the request asks (within `sorts`), cut the page, and describe it for the template.

    `sorts` maps each sortable column's key to the fields (or `F(...).asc(nulls_last=True)` expressions) it
    orders by; `default` is the key (with "-" for descending) of the list's usual order. `keyset` pages the
    list by its sort values rather than by OFFSET (`_keyset_page`), for the lists too long for OFFSET;
    `jump_by_group` names the sort keys whose first field has few distinct values (a school, a stage), so that
    a page number jumped to is found through a count of the rows by that value (`_group_of_rows`).
    """
    params = request.GET if params is None else params
    key, descending = read_sort(params, sorts, default)
    size = read_size(params, per_page)
    ordered = queryset.order_by(*ordering(sorts, key, descending))
    paginator = paginator_class(ordered, size)
    if keyset:
        page = _keyset_page(
            params, queryset, paginator, [*sorts[key], "pk"], descending, by_group=key in jump_by_group
        )
    else:
        page = paginator.get_page(params.get("page"))
    return Listing(
        page=page,
        sort=key,
        descending=descending,
        size=size,
        params=params,
        sorts=tuple(sorts),
        keyset=keyset,
    )


def _beyond(fields: Sequence[str], ascending: Sequence[bool], values: Sequence) -> Q:
    """Rows after `values` in the order of `fields`: (a, b, c) > (x, y, z), each field in its own direction.

    The first field's bound is repeated on its own (a >= x) so that PostgreSQL can start an index scan there.
    """
    first = Q(**{f"{fields[0]}__{'gte' if ascending[0] else 'lte'}": values[0]})
    after = Q()
    for i, (name, up) in enumerate(zip(fields, ascending, strict=True)):
        step = Q(**{f"{name}__{'gt' if up else 'lt'}": values[i]})
        for earlier, value in zip(fields[:i], values[:i], strict=True):
            step &= Q(**{earlier: value})
        after |= step
    return first & after


def _keyset_page(
    params,
    queryset: QuerySet,
    paginator: Paginator,
    terms: Sequence[str],
    descending: bool,
    *,
    by_group: bool = False,
) -> Page:
    """A page of a large list without a deep OFFSET (issue 19).

    "Next" and "previous" carry the id of the row the page starts after (`after=`) or ends before
    (`before=`): the page is the rows beyond that row's sort values, found through the index, at any depth.
    The id is looked up in the user's own (scoped) list: an id from elsewhere is ignored. A page number
    typed or clicked is counted from the nearer end: the last pages are read backwards, so only the middle of
    a long list pays an OFFSET. The number a cursor page shows is the one its link carried.
    """
    if any(not isinstance(term, str) for term in terms):
        raise ValueError("keyset pages sort by plain fields")
    fields = [term.lstrip("-") for term in terms]
    ascending = [term.startswith("-") == descending for term in terms]
    forward = ordering({"k": terms[:-1]}, "k", descending)
    backward = ordering({"k": terms[:-1]}, "k", not descending)
    size = paginator.per_page
    last = paginator.num_pages
    number = min(max(parse_int(params.get("page")) or 1, 1), last)
    for name, reverse in (("after", False), ("before", True)):
        pk = parse_int(params.get(name))
        values = queryset.filter(pk=pk).values_list(*fields).first() if pk else None
        if values is not None:
            if reverse:
                beyond = _beyond(fields, [not up for up in ascending], values)
                rows = list(queryset.filter(beyond).order_by(*backward)[:size])[::-1]
            else:
                rows = list(queryset.filter(_beyond(fields, ascending, values)).order_by(*forward)[:size])
            return Page(rows, number, paginator)
    start = (number - 1) * size
    end = min(start + size, paginator.count)
    if by_group and start and paginator.count >= CACHED_COUNT_FROM:
        rows = _group_of_rows(queryset, fields[0], ascending[0], forward, start, end)
        if rows is not None:
            return Page(rows, number, paginator)
    if number > (last + 1) // 2:  # nearer the end: read backwards from it
        rows = list(queryset.order_by(*backward)[paginator.count - end : paginator.count - start])[::-1]
    else:
        rows = list(queryset.order_by(*forward)[start:end])
    return Page(rows, number, paginator)


def _group_of_rows(queryset: QuerySet, field: str, ascending: bool, order, start: int, end: int):
    """Rows `start`..`end` of the list in `order`, whose first field is `field`: the rows are counted by that
    field's value (one grouped count in the list's order, reused for a minute like a big list's page count,
    `portal.pagination.cached_value`), and the page is read among the rows of the values it spans, with an
    OFFSET into them only (issue 19: `?page=1400` of the county's students by school sorted and skipped
    70,000 rows, 700 ms). None (read as before) when a value is empty or the counts no longer reach `end`."""
    from portal.pagination import cached_value

    counts = (
        queryset.order_by()
        .values_list(field)
        .annotate(n=Count("pk"))
        .order_by(F(field).asc() if ascending else F(field).desc())
    )
    groups = cached_value(counts, lambda: list(counts))
    before, covered, values = 0, 0, []
    for value, n in groups:
        if not values and before + n <= start:
            before += n
            continue
        if value is None:
            return None
        values.append(value)
        covered += n
        if before + covered >= end:
            break
    else:
        return None
    return list(queryset.filter(**{f"{field}__in": values}).order_by(*order)[start - before : end - before])


def context(result: Listing, **extra) -> dict:
    """The template context of a list page: the listing, its page, and the query string the older includes use."""
    return {"listing": result, "page": result.page, "query": result.query_without_page, **extra}
