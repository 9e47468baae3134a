"""The autumn roll-over's pages: the bureau's preview, apply and undo; the principals' confirmation.
Thin: the rule and the writes are in students.rollover."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal.access import can_confirm_school_list, can_roll_over, scope_of
from portal.decorators import capability_required, scoped_login_required
from portal.forms import flash_errors
from students import rollover
from students.forms import RolloverApplyForm, RolloverConfirmForm
from students.models import Rollover, School, school_year_of


def _year(request) -> int:
    try:
        year = int(request.GET.get("year", ""))
    except ValueError:
        return school_year_of()
    return year if 2000 <= year <= 2100 else school_year_of()


def _back(year: int):
    return redirect(f"{reverse('students:rollover')}?year={year}")


@capability_required(can_roll_over)
def rollover_index(request):
    year = _year(request)
    # One a year: the history is short, and the year's applied roll-over is found in it (no query of its own).
    history = list(Rollover.objects.visible_to(request.user).select_related("applied_by")[:50])
    applied = next(
        (r for r in history if r.school_year == year and r.status == Rollover.Status.APPLIED), None
    )
    running = next(
        (r for r in history if r.school_year == year and r.status == Rollover.Status.APPLYING), None
    )
    # The year's latest attempt, if the task refused it (and nothing came after it).
    latest = next((r for r in history if r.school_year == year), None)
    failed = latest if latest is not None and latest.status == Rollover.Status.FAILED else None
    preview, refusal = None, []
    if applied is None and running is None:
        try:
            preview = rollover.preview(school_year=year)
        except ValidationError as exc:
            refusal = exc.messages
    schools = rollover.schools_to_confirm(applied) if applied else []
    context = {
        "year": year,
        "years": [year - 1, year, year + 1],
        "applied": applied,
        "summary": applied.summary if applied else preview,
        "preview": preview,
        "refusal": refusal,
        "form": RolloverApplyForm(initial={"fingerprint": preview["fingerprint"]}) if preview else None,
        "running": running,
        "failed": failed,
        "schools": schools,
        "confirmed": any(confirmation for _school, confirmation in schools),
        "history": history[:10],
    }
    return render(request, "students/rollover.html", context)


@capability_required(can_roll_over)
@require_POST
def rollover_apply(request, year: int):
    form = RolloverApplyForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return _back(year)
    try:
        done = rollover.rollover_apply(
            school_year=year, fingerprint=form.cleaned_data["fingerprint"], by=request.user
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        if done.status == Rollover.Status.APPLYING:
            messages.info(
                request,
                _(
                    "The roll-over of %(year)s is being applied (%(n)s students): this page shows its result when it is done."
                )
                % {"year": year, "n": done.summary["rolled"]},
            )
        else:
            messages.success(
                request,
                _("The school year %(year)s is open: %(n)s students were rolled over.")
                % {"year": year, "n": done.summary["rolled"]},
            )
    return _back(year)


@capability_required(can_roll_over)
@require_POST
def rollover_undo(request, year: int):
    try:
        rollover.rollover_undo(school_year=year, by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, _("The roll-over of %(year)s was undone.") % {"year": year})
    return _back(year)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def rollover_school(request, year: int, school_pk: int):
    """A school's list on the new register; its principal confirms it here. Another school's: 404."""
    school = get_object_or_404(
        School.objects.visible_to(request.user).select_related("township"), pk=school_pk
    )
    applied = get_object_or_404(Rollover.objects.applied(), school_year=year)
    form = RolloverConfirmForm(request.POST or None)
    if request.method == "POST":
        if not can_confirm_school_list(request.user):
            raise PermissionDenied
        if form.is_valid():
            try:
                rollover.rollover_confirm(
                    school_year=year, school=school, note=form.cleaned_data["note"], by=request.user
                )
            except ValidationError as exc:
                flash_errors(request, exc)
            else:
                messages.success(request, _("The school's list was confirmed."))
                return redirect("students:rollover_school", year=year, school_pk=school.pk)
    context = {
        "school": school,
        "rollover": applied,
        "pupils": rollover.school_list(applied, school),
        "confirmation": applied.confirmations.filter(school=school).select_related("confirmed_by").first(),
        "form": form,
    }
    return render(request, "students/rollover_school.html", context)


@capability_required(can_confirm_school_list)
def rollover_mine(request):
    """The principal's way in: the own school's list of the latest school year opened."""
    latest = Rollover.objects.applied().order_by("-school_year").first()
    if latest is None:
        return render(request, "students/rollover_school.html", {"rollover": None})
    # Rendered here, not redirected: the menu's link opens the page itself (its form posts to the school's URL).
    return rollover_school(request, latest.school_year, scope_of(request.user).school_id)
