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
from django.db.models import F, QuerySet
from django.db.models.expressions import OrderBy
from django.http import QueryDict

from portal.params import parse_int

PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50
# The parameters the list itself owns; every other one in the query string is a filter.
LIST_PARAMS = ("sort", "size", "page")
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
        return "?" + self.query(sort=f"-{key}" if descending else key, page=None)

    @property
    def query_without_page(self) -> str:
        return self.query(page=None)

    @property
    def page_prefix(self) -> str:
        """What a page link starts with: `?<filters, sort, size>&page=` (the number follows)."""
        query = self.query_without_page
        return f"?{query}&page=" if query else "?page="

    def hidden_params(self, *, keep: Sequence[str] = ()) -> list[tuple[str, str]]:
        """The parameters a GET form on the page (jump to page, page size) must carry along, except its own."""
        own = {"page", "size"} - set(keep)
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


def read_size(params: Mapping[str, str], default: int = DEFAULT_PAGE_SIZE) -> int:
    size = parse_int(params.get("size"))
    return size if size in PAGE_SIZES else default


def listing(
    request,
    queryset: QuerySet,
    *,
    sorts: Mapping[str, Sequence[Order]],
    default: str,
    params: QueryDict | None = None,
    paginator_class: type[Paginator] = Paginator,
    per_page: int = DEFAULT_PAGE_SIZE,
) -> Listing:
    """Sort `queryset` as the request asks (within `sorts`), cut the page, and describe it for the template.

    `sorts` maps each sortable column's key to the fields (or `F(...).asc(nulls_last=True)` expressions) it
    orders by; `default` is the key (with "-" for descending) of the list's usual order.
    """
    params = request.GET if params is None else params
    key, descending = read_sort(params, sorts, default)
    size = read_size(params, per_page)
    ordered = queryset.order_by(*ordering(sorts, key, descending))
    page = paginator_class(ordered, size).get_page(params.get("page"))
    return Listing(page=page, sort=key, descending=descending, size=size, params=params, sorts=tuple(sorts))


def context(result: Listing, **extra) -> dict:
    """The template context of a list page: the listing, its page, and the query string the older includes use."""
    return {"listing": result, "page": result.page, "query": result.query_without_page, **extra}
