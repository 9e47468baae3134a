"""Pages of the university students' roster and their aid, and of social aid (issue 14). Bureau staff keep
them; the others read what their scope holds (a township officer their township's university students and
grants; a principal the grants to their school's children)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from portal import lists
from portal.access import is_bureau_staff
from portal.decorators import scoped_login_required
from portal.forms import add_service_errors
from subsidies import selectors, services
from subsidies.filters import SocialGrantFilter, UniversityStudentFilter
from subsidies.forms import SocialGrantForm, SocialProgrammeForm, UniversityAidForm, UniversityStudentForm
from subsidies.models import SocialAidGrant, SocialAidProgramme, UniversityAid, UniversityStudent
from subsidies.views.common import PAGE_SIZE

UNIVERSITY_SORTS = {
    "name": ["name"],
    "university": ["university", "name"],
    "enrolment_year": ["enrolment_year", "name"],
    "township": ["home_township__code", "name"],
    "category": ["category", "name"],
}
GRANT_SORTS = {
    "programme": ["programme__name", "-granted_on"],
    "township": ["township__code", "-granted_on"],
    "granted_on": ["granted_on"],
    "amount": ["amount", "-granted_on"],
}


def _post(request, forms: dict, actions: dict, done: str, target: str):
    """Run the posted form's service; None when it was recorded (the caller redirects)."""
    if not is_bureau_staff(request.user):
        raise PermissionDenied
    name = request.POST.get("form_name")
    form = forms.get(name)
    if form is None:
        raise PermissionDenied
    if form.is_valid():
        fields = {k: v for k, v in form.cleaned_data.items() if k != "form_name"}
        try:
            actions[name](by=request.user, **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(target)
    return None


@scoped_login_required
@require_http_methods(["GET", "POST"])
def university_students(request):
    bureau = is_bureau_staff(request.user)
    data = request.POST if request.method == "POST" else None
    forms = (
        {
            "student": UniversityStudentForm(
                data if data and data.get("form_name") == "student" else None, user=request.user
            ),
            "aid": UniversityAidForm(data if data and data.get("form_name") == "aid" else None),
        }
        if bureau
        else {}
    )
    if request.method == "POST":
        done = _post(
            request,
            forms,
            {"student": services.university_student_add, "aid": services.university_aid_add},
            _("Recorded."),
            "subsidies:university_students",
        )
        if done is not None:
            return done
    roster = UniversityStudent.objects.visible_to(request.user).select_related("home_township")
    filterset = UniversityStudentFilter(request.GET, queryset=roster, request=request)
    result = lists.listing(request, filterset.qs, sorts=UNIVERSITY_SORTS, default="name")
    aid = UniversityAid.objects.visible_to(request.user).select_related("student")
    context = lists.context(
        result,
        filter=filterset,
        roster=result.page,
        aid=aid.order_by("-paid_on", "-pk")[:PAGE_SIZE],
        totals=selectors.university_aid_totals(aid),
        kinds=dict(UniversityAid.Kind.choices),
        forms=forms,
    )
    return render(request, "subsidies/university_students.html", context)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def social_aid(request):
    bureau = is_bureau_staff(request.user)
    data = request.POST if request.method == "POST" else None
    forms = (
        {
            "programme": SocialProgrammeForm(data if data and data.get("form_name") == "programme" else None),
            "grant": SocialGrantForm(
                data if data and data.get("form_name") == "grant" else None, user=request.user
            ),
        }
        if bureau
        else {}
    )
    if request.method == "POST":
        done = _post(
            request,
            forms,
            {"programme": services.social_programme_add, "grant": services.social_grant_add},
            _("Recorded."),
            "subsidies:social_aid",
        )
        if done is not None:
            return done
    grants = SocialAidGrant.objects.visible_to(request.user).select_related(
        "programme", "student", "university_student", "school", "township"
    )
    filterset = SocialGrantFilter(request.GET, queryset=grants, request=request)
    result = lists.listing(request, filterset.qs, sorts=GRANT_SORTS, default="-granted_on")
    context = lists.context(
        result,
        filter=filterset,
        programmes=SocialAidProgramme.objects.visible_to(request.user),
        totals=selectors.social_aid_totals(grants),
        grants=result.page,
        forms=forms,
    )
    return render(request, "subsidies/social_aid.html", context)
