"""Past payments page (bureau only): upload the national aid system's export, read the preview, record it.

The preview keeps the uploaded file under the media folder and hands the page a signed name of it, so that
"record" writes exactly the file that was previewed (checked again on recording) without a second upload.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import lists
from portal.access import is_bureau_staff
from portal.decorators import capability_required
from portal.excel import workbook_response
from portal.forms import add_service_errors
from subsidies import past_payments, services
from subsidies.filters import PastBatchFilter
from subsidies.forms import PastPaymentsForm
from subsidies.models import DisbursementBatch, PastPaymentImport

PREVIEWS = "past_payments/previews"
SALT = "subsidies.past_payments.preview"
# A preview is recorded the same day or previewed again.
PREVIEW_SECONDS = 24 * 3600
# The imported batches, one per term and aid type.
PAST_BATCH_SORTS = {
    "term": ["-school_year", "term", "aid_type"],
    "aid_type": ["aid_type", "-school_year", "term"],
}
# The files recorded, newest first (a county imports its past once: a handful of files).
RECENT_IMPORTS = 20


def _stored_preview(token: str, user) -> tuple[str, str] | None:
    """(stored name, original file name) of the user's previewed file, or None if the token is not one."""
    try:
        data = signing.loads(token, salt=SALT, max_age=PREVIEW_SECONDS)
    except signing.BadSignature:
        return None
    if data.get("user") != user.pk or not default_storage.exists(data.get("name", "")):
        return None
    return data["name"], data.get("filename", "")


def _purge_old_previews() -> None:
    """Previews never recorded are not kept: they hold whole ID numbers."""
    if not default_storage.exists(PREVIEWS):
        return
    cutoff = timezone.now() - timedelta(seconds=PREVIEW_SECONDS)
    for filename in default_storage.listdir(PREVIEWS)[1]:
        name = f"{PREVIEWS}/{filename}"
        if default_storage.get_modified_time(name) < cutoff:
            default_storage.delete(name)


@capability_required(is_bureau_staff)
@require_http_methods(["GET", "POST"])
def past_payments_page(request):
    uploading = request.method == "POST" and "token" not in request.POST
    form = PastPaymentsForm(request.POST if uploading else None, request.FILES if uploading else None)
    check = token = None
    refusals: list[str] = []
    if request.method == "POST" and "token" in request.POST:
        stored = _stored_preview(request.POST["token"], request.user)
        if stored is None:
            messages.error(request, _("The preview has expired: upload the file again."))
            return redirect("subsidies:past_payments")
        name, filename = stored
        try:
            with default_storage.open(name, "rb") as upload:
                record = services.past_payments_import(upload=upload, filename=filename, by=request.user)
        except ValidationError as exc:
            # The register or the payments changed since the preview: every refused row, as the preview says it.
            refusals = exc.messages
        else:
            default_storage.delete(name)
            messages.success(
                request,
                _("%(n)s past payments recorded (%(amount)s yuan) from %(file)s.")
                % {"n": record.rows, "amount": record.amount, "file": record.filename},
            )
            return redirect("subsidies:past_payments")
    elif uploading and form.is_valid():
        upload = form.cleaned_data["file"]
        data = upload.read(settings.IMPORT_MAX_BYTES + 1)
        try:
            check = past_payments.check(ContentFile(data))
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if not check.refused:
                _purge_old_previews()
                name = default_storage.save(f"{PREVIEWS}/{uuid.uuid4().hex}.xlsx", ContentFile(data))
                token = signing.dumps(
                    {"name": name, "filename": upload.name[:200], "user": request.user.pk}, salt=SALT
                )
    imports = PastPaymentImport.objects.visible_to(request.user).select_related("imported_by")
    batches = DisbursementBatch.objects.visible_to(request.user).filter(kind=DisbursementBatch.Kind.IMPORTED)
    filterset = PastBatchFilter(request.GET, queryset=batches, request=request)
    result = lists.listing(
        request,
        filterset.qs.with_totals(request.user),
        sorts=PAST_BATCH_SORTS,
        default="term",
    )
    context = lists.context(
        result,
        filter=filterset,
        form=form,
        check=check,
        token=token,
        refusals=refusals,
        imports=imports.order_by("-imported_at", "-pk")[:RECENT_IMPORTS],
        batches=result.page,
        columns=list(past_payments.COLUMNS.values()),
    )
    return render(request, "subsidies/past_payments.html", context)


@capability_required(is_bureau_staff)
def past_payments_template(request):
    return workbook_response(past_payments.template_workbook(), "往年资助发放导入模板.xlsx")
