"""The banks' payroll layouts (bureau staff): which columns, in which order and under which titles, each bank
wants in its 代发 file, and its card format. The clerk chooses one when making a batch's bank file."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal.decorators import bureau_required
from portal.forms import add_service_errors
from portal.history import history_for
from subsidies import bank
from subsidies.forms import BankPayrollLayoutForm
from subsidies.models import BankPayrollLayout
from subsidies.models.bank import PAYROLL_FIELDS, PAYROLL_REQUIRED


@bureau_required
def layout_list(request):
    layouts = BankPayrollLayout.objects.visible_to(request.user)
    return render(
        request,
        "subsidies/bank_layout_list.html",
        {
            "layouts": [
                {"layout": layout, "columns": [(PAYROLL_FIELDS.get(k, k), t) for k, t in layout.columns]}
                for layout in layouts
            ],
            "required": [PAYROLL_FIELDS[key] for key in PAYROLL_REQUIRED],
        },
    )


@bureau_required
@require_http_methods(["GET", "POST"])
def layout_edit(request, pk: int | None = None):
    layout = get_object_or_404(BankPayrollLayout.objects.editable_by(request.user), pk=pk) if pk else None
    form = BankPayrollLayoutForm(request.POST or None, layout=layout)
    if request.method == "POST" and form.is_valid():
        try:
            if layout is None:
                bank.payroll_layout_create(by=request.user, **form.layout_fields)
            else:
                bank.payroll_layout_update(layout=layout, by=request.user, **form.layout_fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The bank payroll layout was saved."))
            return redirect("subsidies:bank_layout_list")
    return render(
        request,
        "subsidies/bank_layout_form.html",
        {
            "form": form,
            "layout": layout,
            "required": [PAYROLL_FIELDS[key] for key in PAYROLL_REQUIRED],
            "history": history_for(layout) if layout else None,
        },
    )
