from django import forms
from django.contrib import admin

from portal.admin import ScopedAdmin
from students import services
from students.models import County, ImportJob, School, Student, StudentCategory, TeacherCount, Township


@admin.register(County)
class CountyAdmin(ScopedAdmin):
    list_display = ("code", "name", "prefecture")
    search_fields = ("code", "name")


@admin.register(Township)
class TownshipAdmin(ScopedAdmin):
    list_display = ("code", "name", "county", "closed_on", "merged_into")
    # Merging a township moves its schools on a date: the merge page does it (students.services).
    readonly_fields = ("closed_on", "merged_into")
    list_select_related = ("county",)


class SchoolAdminForm(forms.ModelForm):
    """A change of name, township, type, ownership or rural flag takes effect today: refused here, as a form
    error, when services.save_school would refuse it."""

    class Meta:
        model = School
        fields = [f.name for f in School._meta.concrete_fields if f.editable and not f.primary_key]

    def clean(self):
        cleaned = super().clean()
        stored = School.objects.filter(pk=self.instance.pk).first() if self.instance.pk else None
        errors = services.school_change_errors(school=stored, new=cleaned)
        for name, messages in errors.items():
            for message in messages:
                self.add_error(name if name in self.fields else None, message)
        return cleaned


@admin.register(School)
class SchoolAdmin(ScopedAdmin):
    form = SchoolAdminForm
    list_display = (
        "code",
        "name",
        "township",
        "school_type",
        "ownership",
        "is_rural",
        "is_active",
        "closed_on",
    )
    list_filter = ("school_type", "ownership", "is_rural", "township")
    list_select_related = ("township",)
    search_fields = ("code", "name")
    # A school is closed by recording its closing date (School.clean keeps "in operation" in step).
    readonly_fields = ("is_active",)

    def save_model(self, request, obj, form, change):
        # A change of name, township, type, ownership or rural flag takes effect today (the API and the
        # township merger take another date): the school's spells keep the years before.
        from students import services

        services.save_school(obj)


@admin.register(TeacherCount)
class TeacherCountAdmin(ScopedAdmin):
    list_display = ("school", "school_year", "headcount", "on_staff")
    list_select_related = ("school",)
    list_filter = ("school_year",)


class CategoryInline(admin.TabularInline):
    """Read here only: a category is dated, and is added or ended on the student's page (services.category_add),
    which keeps the spells of a kind from overlapping."""

    model = StudentCategory
    extra = 0

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StudentAdminForm(forms.ModelForm):
    class Meta:
        model = Student
        # What the services write: nothing the admin saves bypasses them.
        fields = services.STUDENT_FIELDS

    def clean(self):
        cleaned = super().clean()
        was = Student.objects.get(pk=self.instance.pk).status if self.instance.pk else None
        services.check_status_by_hand(cleaned.get("status"), was=was)
        services.check_enrolled_on(cleaned.get("enrolled_on"))
        return cleaned


@admin.register(Student)
class StudentAdmin(ScopedAdmin):
    """Students are written through the same services as the pages and the API: a new child is on the register
    from the running school year at the earliest (an old enrolment date does not rewrite past registers), a
    change of school is a transfer, and "not on this school year's roll" is the rolls' to set."""

    form = StudentAdminForm
    # The list shows the masked number; the full one is on the change form, for writing roles.
    list_display = ("name", "masked_id_number", "school", "stage", "grade", "status")
    list_filter = ("stage", "status", "is_boarding")
    list_select_related = ("school",)
    search_fields = ("name", "=id_number")
    raw_id_fields = ("school", "home_township")
    inlines = [CategoryInline]

    def save_model(self, request, obj, form, change):
        fields = {
            name: form.cleaned_data[name] for name in services.STUDENT_FIELDS if name in form.cleaned_data
        }
        if not change:
            created = services.student_create(by=request.user, **fields)
            obj.pk = created.pk
            return
        # The service reads the row as it was (the form has already set the new values on `obj`).
        before = Student.objects.get(pk=obj.pk)
        services.student_update(
            student=before,
            by=request.user,
            **{name: fields[name] for name in form.changed_data if name in fields},
        )


@admin.register(ImportJob)
class ImportJobAdmin(ScopedAdmin):
    list_display = ("filename", "uploaded_by", "status", "created_count", "updated_count", "created_at")
    readonly_fields = [f.name for f in ImportJob._meta.fields]
