"""What every area's API shares: a service's refusals turned into DRF responses."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.exceptions import PermissionDenied, ValidationError


@contextmanager
def service_errors():
    """Django's refusals from a service, as DRF responses: 400 with the clerk's message, or 403."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        ) from exc
    except DjangoPermissionDenied as exc:
        raise PermissionDenied(str(exc) or None) from exc


def call_service(function, /, **kwargs):
    """Run a service (keyword arguments only) with its refusals turned into API responses."""
    with service_errors():
        return function(**kwargs)
