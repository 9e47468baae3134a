"""Page counts of the big lists: exact for small ones, reused for a minute for large ones (issue 19).

Counting the whole county's students (145,057) or payments (431,301) on every page of a list costs 35-100 ms
a request, the most expensive query of those pages under load; a clerk paging through a list does not need
the total to be exact to the second. A count of at least `CACHED_COUNT_FROM` rows is kept in the cache for
`CACHED_COUNT_SECONDS`, keyed by the count query's own SQL and parameters (so the user's scope and filters,
which are in the SQL, are in the key: one scope's count is never another's). Smaller counts, and so every
list of a school or a township, are exact.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.utils.functional import cached_property
from rest_framework.pagination import PageNumberPagination

CACHED_COUNT_FROM = 10_000
CACHED_COUNT_SECONDS = 60


class CachedCountPaginator(Paginator):
    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if query is None:
            return super().count
        try:
            sql, params = query.sql_with_params()
        except EmptyResultSet:  # `.none()`: nothing to count
            return super().count
        key = "pagination:count:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()
        count = cache.get(key)
        if count is None:
            count = super().count
            if count >= CACHED_COUNT_FROM:
                cache.set(key, count, CACHED_COUNT_SECONDS)
        return count


def cached_value(queryset, compute):
    """`compute()` (a read of `queryset`), reused for `CACHED_COUNT_SECONDS` under the queryset's SQL: the
    grouped counts a big list's page number is found with (`portal.lists._group_of_rows`)."""
    sql, params = queryset.query.sql_with_params()
    key = "pagination:value:" + hashlib.sha256(repr((sql, params)).encode()).hexdigest()
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHED_COUNT_SECONDS)
    return value


class CachedCountPagination(PageNumberPagination):
    """The API's page-number pagination with `CachedCountPaginator`'s count."""

    django_paginator_class = CachedCountPaginator
