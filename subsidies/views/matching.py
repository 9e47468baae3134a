"""Data matching runs: upload, review, export, apply (bureau only)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal import lists
from portal.access import can_run_data_matching
from portal.audit import log_access
from portal.decorators import capability_required
from portal.excel import workbook_response
from portal.forms import add_service_errors, flash_errors
from portal.models import AccessLog
from subsidies import matching
from subsidies.filters import (
    MatchResultFilter,
)
from subsidies.forms import (
    MatchApplyForm,
    MatchUploadForm,
)
from subsidies.models import (
    MatchRun,
)

# --- Data matching ------------------------------------------------------------------------------------


MATCH_SORTS = {
    "result": ["kind", "row_number"],
    "row": ["row_number"],
    "name": ["name"],
    "school": ["student__school__code", "name"],
    "aid": ["aid_type", "name"],
}


@capability_required(can_run_data_matching)
@require_http_methods(["GET", "POST"])
def match_list(request):
    form = MatchUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        upload = data.pop("file")
        try:
            run = matching.match_upload(upload=upload, by=request.user, file_name=upload.name, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return redirect("subsidies:match_detail", pk=run.pk)
    runs = MatchRun.objects.visible_to(request.user).select_related("by").with_counts().order_by("-at", "-pk")
    return render(request, "subsidies/match_list.html", {"form": form, "runs": runs[:100]})


@capability_required(can_run_data_matching)
def match_detail(request, pk: int):
    run = get_object_or_404(MatchRun.objects.visible_to(request.user), pk=pk)
    filterset = MatchResultFilter(request.GET, queryset=run.results.select_related("student__school"))
    result = lists.listing(request, filterset.qs, sorts=MATCH_SORTS, default="result")
    counts = dict(run.results.values_list("kind").annotate(n=Count("pk")))
    return render(
        request,
        "subsidies/match_detail.html",
        {
            "run": run,
            **lists.context(result, filter=filterset),
            "counts": counts,
            "apply_form": MatchApplyForm(),
        },
    )


@capability_required(can_run_data_matching)
def match_export(request, pk: int):
    run = get_object_or_404(MatchRun.objects.visible_to(request.user), pk=pk)
    log_access(request, AccessLog.Action.EXPORT, run, detail=f"data matching results, run {run.pk}")
    return workbook_response(matching.match_workbook(run), f"数据比对_{run.pk}.xlsx")


@capability_required(can_run_data_matching)
@require_POST
def match_apply(request, pk: int):
    run = get_object_or_404(MatchRun.objects.visible_to(request.user), pk=pk)
    form = MatchApplyForm(request.POST)
    ids = [int(v) for v in request.POST.getlist("result") if v.isdigit()]
    if form.is_valid():
        try:
            added = matching.match_apply(
                run=run, result_ids=ids, valid_from=form.cleaned_data["valid_from"], by=request.user
            )
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("Category added to %(n)s students.") % {"n": added})
    else:
        flash_errors(request, form)
    return redirect("subsidies:match_detail", pk=pk)
