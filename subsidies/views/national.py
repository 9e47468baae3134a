"""The national student-aid system's files (bureau staff): the term's report in its columns, and its export
reconciled with what the portal paid (subsidies/national_aid.py)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from portal.access import is_bureau_staff
from portal.audit import log_access
from portal.decorators import capability_required
from portal.excel import workbook_response
from portal.forms import add_service_errors
from portal.models import AccessLog
from students.models import Student, school_year_of
from subsidies import national_aid
from subsidies.forms import NationalAidExportForm, NationalAidReconcileForm
from subsidies.models import Payment, Term


@capability_required(is_bureau_staff)
@require_http_methods(["GET", "POST"])
def national_aid_page(request):
    export_form = NationalAidExportForm(
        request.GET if "school_year" in request.GET else None,
        initial={"school_year": school_year_of(timezone.localdate()), "term": Term.AUTUMN},
    )
    if export_form.is_bound and export_form.is_valid():
        year, term = export_form.cleaned_data["school_year"], export_form.cleaned_data["term"]
        wb = national_aid.export_workbook(
            school_year=year,
            term=term,
            payments=Payment.objects.visible_to(request.user),
            students=Student.objects.visible_to(request.user),
        )
        log_access(request, AccessLog.Action.EXPORT, detail=f"national aid system report {year} {term}")
        return workbook_response(wb, f"全国资助系统_{year}_{term}.xlsx")
    form = NationalAidReconcileForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = national_aid.reconcile(
                form.cleaned_data["file"],
                payments=Payment.objects.visible_to(request.user),
                students=Student.objects.visible_to(request.user),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if "xlsx" in request.POST:
                return workbook_response(
                    national_aid.differences_workbook(result, full_ids=False), "资助系统核对差异.xlsx"
                )
    return render(
        request,
        "subsidies/national_aid.html",
        {
            "export_form": export_form,
            "form": form,
            "result": result,
            "kinds": national_aid.KINDS,
            "payment_columns": list(national_aid.PAYMENT_COLUMNS.values()),
            "student_columns": list(national_aid.STUDENT_COLUMNS.values()),
        },
    )
