"""The one shape of a write: `@service(allowed=<capability>)`.

Every service in every app is a plain function taking keyword arguments, one of them `by` (the acting user, or
None for the system: the nightly rebuild, a migration). The decorator

1. refuses the call with PermissionDenied when `allowed(by)` is false (a capability from `portal.access`);
   what the service then checks itself is only the row: "is this record in the user's scope";
2. runs the body in one transaction, so a refusal or an error half way writes nothing;
3. names the user in the change history (pghistory context), also outside a web request: a Celery task
   passes the acting user's id, loads the user and calls the service with `by=user`.

    @service(allowed=is_bureau_staff)
    def batch_approve(*, batch, by, note=""): ...
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

import pghistory
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.access import is_bureau_staff


def service(
    func: Callable | None = None,
    *,
    allowed: Callable[[object], bool] | None = None,
    refusal: str | None = None,
):
    """Decorate a write. `allowed`: capability the acting user must hold; `refusal`: the clerk's message."""

    def decorate(body: Callable) -> Callable:
        @wraps(body)
        def wrapper(*args, **kwargs):
            by = kwargs.get("by")
            if allowed is not None and (by is None or not allowed(by)):
                raise PermissionDenied(refusal or _("Your role may not do this."))
            with transaction.atomic(), pghistory.context(user=getattr(by, "pk", None)):
                return body(*args, **kwargs)

        wrapper.allowed = allowed
        return wrapper

    return decorate(func) if func is not None else decorate


def user_by_id(user_id: int | None):
    """The acting user a task was given (None: the system)."""
    if user_id is None:
        return None
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=user_id)


def bureau_service(func: Callable) -> Callable:
    """`@service` for the county's own work: bureau staff only."""
    return service(func, allowed=is_bureau_staff, refusal=gettext_lazy("Only bureau staff may do this."))
