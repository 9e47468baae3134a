from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.permissions import AllowAny

from portal.access import scope_of
from students.models import School, Stage, Student


@login_required
def home(request):
    """The landing page of each role: what the user is responsible for, at a glance."""
    scope = scope_of(request.user)
    schools = School.objects.visible_to(request.user)
    students = Student.objects.visible_to(request.user).enrolled()
    stage_labels = dict(Stage.choices)
    type_labels = dict(School.Type.choices)
    by_stage = students.values("stage").annotate(n=Count("pk")).order_by("stage")
    by_type = schools.values("school_type").annotate(n=Count("pk")).order_by("school_type")
    context = {
        "scope": scope,
        "school_count": schools.count(),
        "student_count": students.count(),
        "students_by_stage": [{**row, "stage_label": stage_labels.get(row["stage"])} for row in by_stage],
        "schools_by_type": [{**row, "type_label": type_labels.get(row["school_type"])} for row in by_type],
    }
    return render(request, "portal/home.html", context)


class ObtainToken(ObtainAuthToken):
    """POST username + password -> {"token": ...}; lock-out by django-axes applies here too."""

    permission_classes = [AllowAny]
