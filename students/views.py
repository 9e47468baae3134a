"""Registry pages: schools and students. Thin: scoping in portal.access, rules in students.services."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from portal import lists
from portal.access import can_import_students, can_reveal_personal, is_bureau_staff, scope_of
from portal.audit import log_access
from portal.decorators import scoped_login_required
from portal.excel import workbook_response
from portal.forms import ConfirmPasswordForm, add_service_errors, flash_errors
from portal.history import history_for
from portal.models import AccessLog
from portal.pagination import CachedCountPaginator
from portal.search import redirect_with_filters
from students import importing, roll, services
from students.filters import ImportJobFilter, MissingFromRollFilter, SchoolFilter, StudentFilter
from students.forms import (
    CategoryForm,
    ImportForm,
    MissingResolveForm,
    RollImportForm,
    StudentForm,
    TownshipMergeForm,
    TransferForm,
)
from students.models import ImportJob, MissingFromRoll, School, Stage, Student, Township

PAGE_SIZE = 50

SCHOOL_SORTS = {
    "code": ["code"],
    "name": ["name"],
    "township": ["township__code", "code"],
    "type": ["school_type", "code"],
    "ownership": ["ownership", "code"],
    "rural": ["is_rural", "code"],
    "students": ["student_count"],
}
# The student list's columns: the county's longest list (145,057 in Ningdu) is paged by keyset
# (portal.lists._keyset_page), so that its deep pages cost what its first does.
STUDENT_SORTS = {
    "name": ["name"],
    "sex": ["sex", "name"],
    "school": ["school__code", "stage", "grade", "name"],
    "stage": ["stage", "grade", "name"],
    "grade": ["grade", "stage", "name"],
    "boarding": ["is_boarding", "name"],
    "status": ["status", "name"],
}
# An import's row-by-row JSON (up to 160,000 rows): for its own page, not the list of imports.
JOB_DETAILS = ("preview", "errors", "duplicates", "results")
IMPORT_SORTS = {
    "created_at": ["created_at"],
    "filename": ["filename"],
    "kind": ["kind", "-created_at"],
    "status": ["status", "-created_at"],
}
MISSING_SORTS = {
    "name": ["student__name"],
    "school": ["-is_compulsory", "school__code", "stage", "grade", "student__name"],
    "grade": ["stage", "grade", "student__name"],
    "year": ["school_year", "roll_date"],
    "status": ["status", "student__name"],
}


@scoped_login_required
def school_list(request):
    schools = School.objects.visible_to(request.user).select_related("township")
    sorted_by_count = lists.read_sort(request.GET, SCHOOL_SORTS, "township")[0] == "students"
    if sorted_by_count:
        # Only this order needs every school's count before the page is cut.
        schools = schools.annotate(student_count=enrolled_count(OuterRef("pk")))
    filterset = SchoolFilter(request.GET, queryset=schools, request=request)
    result = lists.listing(request, filterset.qs, sorts=SCHOOL_SORTS, default="township")
    if not sorted_by_count:
        # The page first, then one grouped count of its schools' students (a correlated count per school
        # fetched each school's students one by one: 151 ms at Ningdu scale).
        page = list(result.page.object_list)
        counts = dict(
            Student.objects.enrolled()
            .filter(school__in=[school.pk for school in page])
            .order_by()
            .values_list("school")
            .annotate(n=Count("pk"))
        )
        for school in page:
            school.student_count = counts.get(school.pk, 0)
        result.page.object_list = page
    return render(request, "students/school_list.html", lists.context(result, filter=filterset))


def enrolled_count(school):
    """The enrolled students of `school` (an OuterRef to a school's pk) as a correlated count."""
    return Coalesce(
        Subquery(
            Student.objects.filter(school=school, status=Student.Status.ENROLLED)
            .order_by()
            .values("school")
            .annotate(n=Count("pk"))
            .values("n")
        ),
        0,
    )


@scoped_login_required
def school_detail(request, pk: int):
    school = get_object_or_404(School.objects.visible_to(request.user).select_related("township"), pk=pk)
    students = Student.objects.visible_to(request.user).filter(school=school).enrolled()
    context = {
        "school": school,
        # In the stages' own order (学前, 小学, 初中...), by their names, not their codes.
        "by_stage": [
            {**row, "stage": Stage(row["stage"]).label}
            for row in sorted(
                students.values("stage", "grade").annotate(n=Count("pk")).order_by(),
                key=lambda row: (Stage.values.index(row["stage"]), row["grade"]),
            )
        ],
        "student_total": students.count(),
        "teacher_counts": school.teacher_counts.order_by("-school_year")[:5],
        "history": history_for(school) if is_bureau_staff(request.user) else None,
    }
    return render(request, "students/school_detail.html", context)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_list(request):
    """The registry's students. The search form is posted (through `/search/`, or here), so that an ID number
    typed into it never appears in a URL: the filters come back in the query string, the number as a token."""
    if request.method == "POST":
        return redirect_with_filters(request, request.path, request.POST)
    students = Student.objects.visible_to(request.user).select_related("school")
    filterset = StudentFilter(request.GET, queryset=students, request=request)
    result = lists.listing(
        request,
        filterset.qs,
        sorts=STUDENT_SORTS,
        default="school",
        paginator_class=CachedCountPaginator,
        keyset=True,
        # Few schools, stages, grades: a page number is found by counting the students by that value.
        jump_by_group=("school", "stage", "grade", "sex", "boarding", "status"),
    )
    return render(
        request,
        "students/student_list.html",
        lists.context(
            result,
            filter=filterset,
            can_write=scope_of(request.user).writable,
            can_import=can_import_students(request.user),
        ),
    )


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_detail(request, pk: int):
    student = get_object_or_404(
        Student.objects.visible_to(request.user).select_related("school__township", "home_township"), pk=pk
    )
    scope = scope_of(request.user)
    # The whole ID number is an explicit, logged action (POST reveal), for the roles that work on the record;
    # read-only officials never see it, nor the birth date and household county that rebuild it.
    can_reveal = can_reveal_personal(request.user, student)
    reveal = request.method == "POST" and request.POST.get("reveal") == "id" and can_reveal
    log_access(request, AccessLog.Action.REVEAL_ID if reveal else AccessLog.Action.VIEW_RECORD, student)
    context = {
        "student": student,
        "categories": student.categories.order_by("-valid_from"),
        "transfers": student.transfers.select_related("from_school", "to_school"),
        "show_full_id": reveal,
        "can_reveal": can_reveal,
        "can_write": scope.writable,
        "category_form": CategoryForm(),
        "history": history_for(student, *student.categories.all(), personal=can_reveal),
    }
    return render(request, "students/student_detail.html", context)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_create(request):
    if not scope_of(request.user).writable:
        raise PermissionDenied
    form = StudentForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            student = services.student_create(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Student %(name)s was added.") % {"name": student.name})
            return redirect("students:student_detail", pk=student.pk)
    return render(request, "students/student_form.html", {"form": form, "creating": True})


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_edit(request, pk: int):
    student = get_object_or_404(Student.objects.editable_by(request.user), pk=pk)
    log_access(request, AccessLog.Action.VIEW_RECORD, student, detail="edit form")
    form = StudentForm(request.POST or None, instance=student, user=request.user)
    if request.method == "POST" and form.is_valid():
        fields = dict(form.cleaned_data)
        try:
            services.student_update(student=Student.objects.get(pk=pk), by=request.user, **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The changes were saved."))
            return redirect("students:student_detail", pk=pk)
    return render(request, "students/student_form.html", {"form": form, "student": student})


@scoped_login_required
@require_http_methods(["POST"])
def category_add(request, pk: int):
    student = get_object_or_404(Student.objects.editable_by(request.user), pk=pk)
    form = CategoryForm(request.POST)
    if form.is_valid():
        try:
            services.category_add(student=student, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("The category was added."))
    else:
        flash_errors(request, form)
    return redirect("students:student_detail", pk=pk)


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_transfer(request, pk: int):
    student = get_object_or_404(Student.objects.editable_by(request.user), pk=pk)
    form = TransferForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.student_transfer(student=student, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The transfer was recorded."))
            if Student.objects.visible_to(request.user).filter(pk=pk).exists():
                return redirect("students:student_detail", pk=pk)
            return redirect("students:student_list")
    return render(request, "students/student_transfer.html", {"form": form, "student": student})


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_import(request):
    if not can_import_students(request.user):
        raise PermissionDenied
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        job = services.import_start(upload=form.cleaned_data["file"], by=request.user)
        log_access(request, AccessLog.Action.IMPORT, job, detail=job.filename)
        return redirect("students:import_detail", pk=job.pk)
    jobs = ImportJob.objects.visible_to(request.user).select_related("uploaded_by").defer(*JOB_DETAILS)
    filterset = ImportJobFilter(request.GET, queryset=jobs, request=request)
    result = lists.listing(request, filterset.qs, sorts=IMPORT_SORTS, default="-created_at")
    context = lists.context(result, filter=filterset, form=form, jobs=result.page)
    return render(request, "students/import_form.html", context)


@scoped_login_required
def import_template(request):
    return workbook_response(importing.template_workbook(), "学生导入模板.xlsx")


@scoped_login_required
def import_detail(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user).select_related("uploaded_by"), pk=pk)
    students = {}
    if job.duplicates:
        ids = {pk for d in job.duplicates for pk in d["students"]}
        students = Student.objects.visible_to(request.user).in_bulk(ids)
    # A listed match is a registered child: with its masked number, the birth date would rebuild the number.
    personal = can_reveal_personal(request.user)
    duplicates = [
        {
            **d,
            "birth_date": d["birth_date"] if personal else d["birth_date"][:4],
            "matches": [students[pk] for pk in d["students"] if pk in students],
        }
        for d in job.duplicates
    ]
    changed = [
        {**e, "changes": [roll.CHANGES.get(code, code) for code in e.get("what", [])]}
        for e in (job.preview or {}).get("changed", [])
    ]
    return render(
        request, "students/import_detail.html", {"job": job, "duplicates": duplicates, "changed": changed}
    )


@scoped_login_required
def import_errors(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    log_access(request, AccessLog.Action.DOWNLOAD, job, detail="import errors")
    return workbook_response(importing.errors_workbook(job), f"导入错误-{job.pk}.xlsx")


@scoped_login_required
def import_results(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    log_access(request, AccessLog.Action.DOWNLOAD, job, detail="import results")
    return workbook_response(importing.results_workbook(job), f"导入结果-{job.pk}.xlsx")


@scoped_login_required
@require_http_methods(["GET", "POST"])
def student_export(request):
    """The filtered list as .xlsx in the import template's layout, ID numbers masked.

    Whole ID numbers are for writing roles only, and only after the password is typed again (POST): a bulk
    file of children's ID numbers is the most sensitive thing the portal hands out.
    """
    students = Student.objects.visible_to(request.user)
    filterset = StudentFilter(request.GET, queryset=students, request=request)
    full_ids = False
    if request.method == "POST":
        if not scope_of(request.user).writable:
            raise PermissionDenied
        form = ConfirmPasswordForm(request.POST, request=request)
        if not form.is_valid():
            return render(
                request, "students/export_confirm.html", {"form": form, "query": request.GET.urlencode()}
            )
        full_ids = True
    elif request.GET.get("full") == "1" and scope_of(request.user).writable:
        form = ConfirmPasswordForm(request=request)
        return render(
            request, "students/export_confirm.html", {"form": form, "query": request.GET.urlencode()}
        )
    count = filterset.qs.count()
    log_access(
        request,
        AccessLog.Action.EXPORT,
        detail=f"students x{count}" + (" full ID numbers" if full_ids else " masked"),
    )
    return workbook_response(importing.export_workbook(filterset.qs, full_ids=full_ids), "学生名单.xlsx")


@scoped_login_required
@require_http_methods(["GET", "POST"])
def roll_import(request):
    """A school year's roll (bureau staff): uploaded and checked into a preview; applied from its page."""
    if not is_bureau_staff(request.user):
        raise PermissionDenied
    form = RollImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            job = services.roll_import_start(upload=data.pop("file"), by=request.user, **data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            log_access(request, AccessLog.Action.IMPORT, job, detail=job.filename)
            return redirect("students:import_detail", pk=job.pk)
    jobs = (
        ImportJob.objects.visible_to(request.user)
        .exclude(kind=ImportJob.Kind.STUDENTS)
        .select_related("uploaded_by")[:10]
    )
    return render(request, "students/roll_import.html", {"form": form, "jobs": jobs})


@scoped_login_required
@require_http_methods(["GET", "POST"])
def township_merge(request):
    """乡镇合并 (bureau staff): a township's schools move to another from a date; the township is closed then
    and stays in the reports of the years before."""
    if not is_bureau_staff(request.user):
        raise PermissionDenied
    form = TownshipMergeForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            township = services.township_merge(by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(township)s is merged into %(into)s from %(on)s.")
                % {"township": township.name, "into": township.merged_into.name, "on": township.closed_on},
            )
            return redirect("students:school_list")
    merged = (
        Township.objects.visible_to(request.user)
        .filter(closed_on__isnull=False)
        .select_related("merged_into")
    )
    return render(
        request, "students/township_merge.html", {"form": form, "merged": merged.order_by("-closed_on")}
    )


@scoped_login_required
@require_POST
def import_apply(request, pk: int):
    job = get_object_or_404(ImportJob.objects.visible_to(request.user), pk=pk)
    try:
        if job.kind == ImportJob.Kind.STUDENTS:
            services.import_confirm(job=job, by=request.user, fingerprint=request.POST.get("fingerprint", ""))
        else:
            services.roll_import_apply(job=job, by=request.user)
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect("students:import_detail", pk=pk)


@scoped_login_required
def missing_list(request):
    """Children a full roll did not list: each resolved with the reason, by the school or the bureau."""
    missing = MissingFromRoll.objects.visible_to(request.user).select_related(
        "student", "school", "resolved_by"
    )
    data = lists.with_default(request.GET, status=MissingFromRoll.Status.PENDING)  # what is still to do
    filterset = MissingFromRollFilter(data, queryset=missing, request=request)
    result = lists.listing(request, filterset.qs, sorts=MISSING_SORTS, default="school")
    context = lists.context(
        result,
        filter=filterset,
        can_write=scope_of(request.user).writable,
        resolve_form=MissingResolveForm(auto_id=False),
    )
    return render(request, "students/missing_list.html", context)


@scoped_login_required
@require_POST
def missing_resolve(request, pk: int):
    missing = get_object_or_404(MissingFromRoll.objects.editable_by(request.user), pk=pk)
    form = MissingResolveForm(request.POST)
    if form.is_valid():
        try:
            services.roll_missing_resolve(missing=missing, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            flash_errors(request, exc)
        else:
            messages.success(request, _("%(name)s: resolved.") % {"name": missing.student.name})
    else:
        flash_errors(request, form)
    return redirect("students:missing_list")
