"""What every area's API shares: a service's refusals turned into DRF responses."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from portal.audit import log_access
from portal.forms import NOT_PLAIN_DIGITS, PLAIN_DIGITS
from portal.models import AccessLog

# --- The error bodies, as the OpenAPI schema documents them (every endpoint that refuses lists its own) ------

_MESSAGES = {"type": "array", "items": {"type": "string"}}
_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string", "description": "The message, in the user's language."}},
    "required": ["detail"],
}
ERROR_400 = OpenApiResponse(
    response={
        "type": "object",
        "description": "The refusal: `detail` holds the messages not tied to one field; every other key is a "
        "request field with its messages. Nothing was written.",
        "properties": {"detail": _MESSAGES},
        "additionalProperties": _MESSAGES,
    },
    description="Bad input or a rule refused the request (the messages say which and why); nothing written.",
)
ERROR_403 = OpenApiResponse(
    response=_DETAIL, description="Not signed in, or the role may not do this (`detail` says which)."
)
ERROR_404 = OpenApiResponse(response=_DETAIL, description="No such record, or it is outside the user's area.")
ERROR_409 = OpenApiResponse(response=_DETAIL, description="The record is not in a state that allows it.")
# The 4xx of an endpoint that writes, and of one that reads a record.
WRITE_ERRORS = {400: ERROR_400, 403: ERROR_403}
READ_ERRORS = {403: ERROR_403, 404: ERROR_404}
DETAIL_WRITE_ERRORS = {400: ERROR_400, 403: ERROR_403, 404: ERROR_404}


class WholeNumberField(serializers.IntegerField):
    """A count: a JSON integer or a string of plain ASCII digits. DRF's IntegerField also takes 1000.0,
    "1000.0", "1_000" and full-width "１０００" (it calls int()); a count written so is refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | str):
            raise ValidationError(str(NOT_PLAIN_DIGITS), code="invalid")
        if isinstance(data, str):
            if not PLAIN_DIGITS.fullmatch(data.strip()):
                raise ValidationError(str(NOT_PLAIN_DIGITS), code="invalid")
            data = int(data.strip())
        return super().to_internal_value(data)


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


def exception_handler(exc, context):
    """DRF's handler, with a 404 a clerk can read. DRF passes on get_object_or_404's message, which names the
    model in English ("No PilotSchool matches the given query."); a record outside the user's scope is a 404
    too, so the message says both and what to do."""
    if isinstance(exc, Http404):
        exc = NotFound(
            _("No such record, or it is outside your area. Check the number, or find the record in its list.")
        )
    return drf_exception_handler(exc, context)


def call_service(function, /, **kwargs):
    """Run a service (keyword arguments only) with its refusals turned into API responses."""
    with service_errors():
        return function(**kwargs)


class LoggedRetrieveMixin:
    """Opening one record of a child through the API is logged (VIEW_RECORD), as opening it in a page is.

    `logged_record` names the attribute that leads to the child's registry record (e.g. "student"): the
    entry is written against that record, so that "who looked at this child?" (`/access-log/?object=
    students.student:<id>`) finds it; empty, or a row without one, logs the row itself. A response that
    carries the whole ID number (`id_number_full`, asked for with `?reveal=id`) is logged as REVEAL_ID.
    """

    logged_record = ""

    def retrieve(self, request, *args, **kwargs):
        instance = self.get_object()
        data = self.get_serializer(instance).data
        record = getattr(instance, self.logged_record, None) if self.logged_record else None
        action = AccessLog.Action.REVEAL_ID if data.get("id_number_full") else AccessLog.Action.VIEW_RECORD
        log_access(
            request,
            action,
            record or instance,
            detail=f"{instance._meta.label_lower}:{instance.pk}" if record else "",
        )
        return Response(data)


def document_errors(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation documents the errors the portal answers with, in
    their body shapes, where its own schema did not already: 403 for any signed-in endpoint (not signed in, or
    the role may not), 404 for one that names a record in its path, 400 for one that takes a body or query
    parameters (bad input or a refused rule). An endpoint's own description of a code is kept."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", _DETAIL)
    schemas.setdefault("ErrorRefusal", ERROR_400.response)
    detail = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorDetail"}}}
    refusal = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorRefusal"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            signed_in = any(requirement for requirement in operation.get("security", [{"": []}]))
            takes_input = "requestBody" in operation or any(
                p.get("in") == "query" for p in operation.get("parameters", [])
            )
            if signed_in:
                responses.setdefault("403", {"description": ERROR_403.description, "content": detail})
            if "{" in path:
                responses.setdefault("404", {"description": ERROR_404.description, "content": detail})
            if takes_input:
                responses.setdefault("400", {"description": ERROR_400.description, "content": refusal})
    return result
