from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied

from portal.access import NO_SCOPE, is_bureau_staff, scope_of


def scoped_login_required(view):
    """Signed in, and with a role that gives a scope (a principal without a school sees nothing)."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if scope_of(request.user) == NO_SCOPE:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


def capability_required(capability):
    """The page needs a capability of portal.access (the same one its service and API ask)."""

    def decorate(view):
        @scoped_login_required
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not capability(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


bureau_required = capability_required(is_bureau_staff)


def write_required(view):
    @scoped_login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not scope_of(request.user).writable:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper
