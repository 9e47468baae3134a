from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import NO_SCOPE, ScopedQuerySet, scope_of
from portal.tracking import track_changes
from students import id_numbers

division_code_validator = RegexValidator(r"^\d{6}$", _("A division code has exactly 6 digits."))


# A school year is named by the calendar year it starts in; the portal's records are of this century.
def school_year_of(day: date | None = None) -> int:
    """The school year `day` falls in (today, county time, by default): it starts on 1 September and is named
    by the year it starts in, as the papers name it (2022 = 2022-2023)."""
    day = day or timezone.localdate()
    return day.year if day.month >= 9 else day.year - 1


SCHOOL_YEAR_VALIDATORS = [
    MinValueValidator(2000, _("The school year must be between 2000 and 2100.")),
    MaxValueValidator(2100, _("The school year must be between 2000 and 2100.")),
]


class Stage(models.TextChoices):
    PRESCHOOL = "preschool", _("Preschool")
    PRIMARY = "primary", _("Primary")
    JUNIOR = "junior", _("Junior middle")
    SENIOR = "senior", _("Senior high")
    VOCATIONAL = "vocational", _("Secondary vocational")
    SPECIAL = "special", _("Special education")


# Highest grade of each stage (grades count from 1 within the stage).
STAGE_GRADES = {
    Stage.PRESCHOOL: 3,
    Stage.PRIMARY: 6,
    Stage.JUNIOR: 3,
    Stage.SENIOR: 3,
    Stage.VOCATIONAL: 3,
    Stage.SPECIAL: 9,
}
COMPULSORY_STAGES = (Stage.PRIMARY, Stage.JUNIOR)


class CountyQuerySet(ScopedQuerySet):
    scope_county_wide = True


class County(models.Model):
    """A county by its administrative division code: ours, and the ones our children come from or go to."""

    code = models.CharField(
        _("division code"), max_length=6, unique=True, validators=[division_code_validator]
    )
    name = models.CharField(_("name"), max_length=50)
    prefecture = models.CharField(_("prefecture"), max_length=50, blank=True)

    objects = CountyQuerySet.as_manager()

    class Meta:
        verbose_name = _("county")
        verbose_name_plural = _("counties")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class TownshipQuerySet(ScopedQuerySet):
    scope_school = "schools"
    scope_townships = ("pk",)


@track_changes()
class Township(models.Model):
    county = models.ForeignKey(
        County, verbose_name=_("county"), on_delete=models.PROTECT, related_name="townships"
    )
    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=50)

    objects = TownshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("township")
        verbose_name_plural = _("townships")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class SchoolQuerySet(ScopedQuerySet):
    scope_school = "pk"
    scope_townships = ("township",)

    def active(self):
        return self.filter(is_active=True)


@track_changes()
class School(models.Model):
    class Type(models.TextChoices):
        KINDERGARTEN = "kindergarten", _("Kindergarten")
        TEACHING_POINT = "teaching_point", _("Teaching point")
        PRIMARY = "primary", _("Primary school")
        JUNIOR = "junior", _("Junior middle school")
        NINE_YEAR = "nine_year", _("Nine-year school")
        TWELVE_YEAR = "twelve_year", _("Twelve-year school")
        SENIOR_HIGH = "senior_high", _("Senior high school")
        COMPLETE_MIDDLE = "complete_middle", _("Complete middle school")
        VOCATIONAL = "vocational", _("Secondary vocational school")
        SPECIAL = "special", _("Special education school")
        ADVANCED_TECHNICAL = "advanced_technical", _("Advanced technical school")

    class Ownership(models.TextChoices):
        PUBLIC = "public", _("Public")
        PRIVATE = "private", _("Private")

    # The stages each type of school may enrol (a primary school often runs a preschool class).
    TYPE_STAGES = {
        Type.KINDERGARTEN: (Stage.PRESCHOOL,),
        Type.TEACHING_POINT: (Stage.PRESCHOOL, Stage.PRIMARY),
        Type.PRIMARY: (Stage.PRESCHOOL, Stage.PRIMARY),
        Type.JUNIOR: (Stage.JUNIOR,),
        Type.NINE_YEAR: (Stage.PRIMARY, Stage.JUNIOR),
        Type.TWELVE_YEAR: (Stage.PRIMARY, Stage.JUNIOR, Stage.SENIOR),
        Type.SENIOR_HIGH: (Stage.SENIOR,),
        Type.COMPLETE_MIDDLE: (Stage.JUNIOR, Stage.SENIOR),
        Type.VOCATIONAL: (Stage.VOCATIONAL,),
        Type.SPECIAL: (Stage.SPECIAL, Stage.PRIMARY, Stage.JUNIOR),
        Type.ADVANCED_TECHNICAL: (Stage.VOCATIONAL,),
    }

    township = models.ForeignKey(
        Township, verbose_name=_("township"), on_delete=models.PROTECT, related_name="schools"
    )
    code = models.CharField(
        _("school code"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^[0-9A-Za-z-]+$", _("A school code uses digits and letters only."))],
        help_text=_("Stable code used in imports and reports (the national school identification code)."),
    )
    name = models.CharField(_("name"), max_length=100)
    school_type = models.CharField(_("school type"), max_length=24, choices=Type.choices)
    ownership = models.CharField(
        _("ownership"), max_length=8, choices=Ownership.choices, default=Ownership.PUBLIC
    )
    is_rural = models.BooleanField(_("rural"), default=True)
    is_boarding = models.BooleanField(_("boarding school"), default=False)
    has_canteen = models.BooleanField(_("has a canteen"), default=False)
    is_inclusive = models.BooleanField(
        _("inclusive kindergarten"),
        default=False,
        db_default=False,
        help_text=_(
            "A public or inclusive (普惠性) kindergarten or preschool class: the rural preschool nutrition plan "
            "runs in rural inclusive kindergartens."
        ),
    )
    preschool_fee = models.DecimalField(
        _("preschool fee per year"),
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_(
            "The approved 保教费 in yuan a year; the preschool fee waiver pays the actual fee up to its cap."
        ),
    )
    address = models.CharField(_("address"), max_length=200, blank=True)
    principal_name = models.CharField(_("principal"), max_length=50, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    is_active = models.BooleanField(_("in operation"), default=True)

    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["township__code", "code"]
        indexes = [
            # School list filtered by township and type (browser, API, report by school type).
            models.Index(fields=["township", "school_type"], name="school_township_type_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stages(self) -> tuple[str, ...]:
        return self.TYPE_STAGES[self.school_type]


class TeacherCountQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)


@track_changes()
class TeacherCount(models.Model):
    """Teachers at a school in a school year: a headcount is all the year-end report needs."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="teacher_counts"
    )
    school_year = models.PositiveSmallIntegerField(
        _("school year"),
        help_text=_("The year the school year starts, e.g. 2022 for 2022-2023."),
        validators=SCHOOL_YEAR_VALIDATORS,
    )
    headcount = models.PositiveIntegerField(_("teachers"))

    objects = TeacherCountQuerySet.as_manager()

    class Meta:
        verbose_name = _("teacher headcount")
        verbose_name_plural = _("teacher headcounts")
        constraints = [
            models.UniqueConstraint(fields=["school", "school_year"], name="one_teacher_count_per_year")
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.school_year}: {self.headcount}"


class StudentQuerySet(ScopedQuerySet):
    scope_school = "school"
    # A township officer sees the township's schools and the children who live in the township.
    scope_townships = ("school__township", "home_township")

    def enrolled(self):
        return self.filter(status=Student.Status.ENROLLED)

    def with_category_on(self, category: str, on: date):
        return self.filter(
            Q(categories__category=category, categories__valid_from__lte=on)
            & (Q(categories__valid_to__isnull=True) | Q(categories__valid_to__gte=on))
        ).distinct()


@track_changes()
class Student(id_numbers.MaskedIdNumberMixin, models.Model):
    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Status(models.TextChoices):
        ENROLLED = "enrolled", _("Enrolled")
        TRANSFERRED_OUT = "transferred_out", _("Transferred out of county")
        GRADUATED = "graduated", _("Graduated")
        SUSPENDED = "suspended", _("Suspended or dropped out")

    # Unique through the constraint below, not `unique=True`: on PostgreSQL a unique CharField also gets a
    # second, `varchar_pattern_ops` index for LIKE 'prefix%' queries, which nothing asks of an ID number (a
    # search matches a whole number only: students.filters.search_by_name_or_id), and which every import
    # paid for on each row written (issue 19).
    id_number = models.CharField(_("ID number"), max_length=18, validators=[id_numbers.validate_id_number])
    name = models.CharField(_("name of the student"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="students"
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    grade = models.PositiveSmallIntegerField(
        _("grade"), validators=[MinValueValidator(1), MaxValueValidator(9)]
    )
    household_county_code = models.CharField(
        _("household registration county"),
        max_length=6,
        validators=[division_code_validator],
        help_text=_("Six-digit division code of the county of household registration (户籍)."),
    )
    home_township = models.ForeignKey(
        Township,
        verbose_name=_("home township"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="resident_students",
        help_text=_("The township the child lives in, when it is in this county."),
    )
    village = models.CharField(_("village"), max_length=100, blank=True)
    is_boarding = models.BooleanField(_("boarder"), default=False)
    # Database defaults as well: rows written by SQL (imports, tests) need not name the new columns.
    major = models.CharField(
        _("major"),
        max_length=60,
        blank=True,
        default="",
        db_default="",
        help_text=_("Secondary vocational students: the major studied."),
    )
    is_agricultural_major = models.BooleanField(
        _("agricultural major"),
        default=False,
        db_default=False,
        help_text=_("A 涉农专业 (agriculture-related major) of a secondary vocational student."),
    )
    guardian_name = models.CharField(_("guardian"), max_length=50, blank=True)
    guardian_phone = models.CharField(_("guardian phone"), max_length=20, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ENROLLED)
    enrolled_on = models.DateField(_("enrolled on"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = StudentQuerySet.as_manager()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["school_id", "stage", "grade", "name"]
        indexes = [
            # The student list of one school, by stage and grade (principal's list, nutrition coverage).
            models.Index(fields=["school", "stage", "grade"], name="student_school_stage_idx"),
            # Search by name.
            models.Index(fields=["name"], name="student_name_idx"),
            # In-county vs out-of-county counts in the year-end report.
            models.Index(fields=["household_county_code"], name="student_household_idx"),
        ]
        constraints = [
            models.CheckConstraint(name="student_grade_positive", condition=Q(grade__gte=1)),
            # One student per ID number: the import's matching and the look-ups by number use its index.
            models.UniqueConstraint(fields=["id_number"], name="student_id_number_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id_number}）"

    @property
    def is_in_county(self) -> bool:
        return self.household_county_code == settings.HOME_COUNTY_CODE

    def clean_fields(self, exclude=None) -> None:
        # Birth date, sex and (by default) the household county follow from the ID number: fill what was
        # left empty before the field checks, so that a clerk need not type them twice.
        try:
            parsed = id_numbers.parse(self.id_number)
        except ValidationError:
            parsed = None
        if parsed is not None:
            self.id_number = parsed.value
            self.birth_date = self.birth_date or parsed.birth_date
            self.sex = self.sex or parsed.sex
            self.household_county_code = self.household_county_code or parsed.division_code
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        errors: dict[str, list] = {}
        try:
            parsed = id_numbers.parse(self.id_number)
        except ValidationError:
            parsed = None  # reported by the field validator
        if parsed is not None:
            if self.birth_date and self.birth_date != parsed.birth_date:
                errors["birth_date"] = [
                    _("The birth date does not match the ID number (%(date)s).") % {"date": parsed.birth_date}
                ]
            if self.sex and self.sex != parsed.sex:
                errors["sex"] = [_("The sex does not match the ID number.")]
        if self.school_id and self.stage and self.stage not in self.school.stages:
            errors["stage"] = [
                _("A %(type)s does not enrol %(stage)s pupils.")
                % {"type": self.school.get_school_type_display(), "stage": self.get_stage_display()}
            ]
        if self.stage and self.grade and self.grade > STAGE_GRADES[self.stage]:
            errors["grade"] = [_("Grade %(grade)s does not exist in this stage.") % {"grade": self.grade}]
        if self.stage and self.stage != Stage.VOCATIONAL and (self.major or self.is_agricultural_major):
            errors["is_agricultural_major" if self.is_agricultural_major else "major"] = [
                _("Only secondary vocational students have a major.")
            ]
        if errors:
            raise ValidationError(errors)

    def categories_on(self, on: date) -> set[str]:
        return {c.category for c in self.categories.all() if c.applies_on(on)}


class StudentCategoryQuerySet(ScopedQuerySet):
    scope_school = "student__school"
    scope_townships = ("student__school__township", "student__home_township")

    def on(self, day: date):
        return self.filter(Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day)))


@track_changes()
class StudentCategory(models.Model):
    """A family-difficulty category or care flag of a student, valid over a date range.

    Aid eligibility is decided by the categories valid on a given date, so a category is never overwritten:
    it is closed (valid_to) and a new one opened.
    """

    class Category(models.TextChoices):
        POVERTY_ALLEVIATED = "poverty_alleviated", _("Poverty-alleviated household")
        UNSTABLE = "unstable", _("Unstable poverty-alleviated household")
        MARGINAL = "marginal", _("Marginal household at risk of poverty")
        SUDDEN_HARDSHIP = "sudden_hardship", _("Household in sudden severe hardship")
        DIBAO = "dibao", _("Minimum living allowance")
        EXTREME_HARDSHIP = "extreme_hardship", _("Extreme hardship support")
        ORPHAN = "orphan", _("Orphan")
        DISABLED = "disabled", pgettext_lazy("difficulty category", "Disabled")
        MARTYR_CHILD = "martyr_child", _("Martyr's child")
        LEFT_BEHIND = "left_behind", _("Left-behind child")
        IN_DIFFICULTY = "in_difficulty", _("Child in difficulty")
        MIGRANT = "migrant", _("Migrant worker's child")

    # Family-difficulty categories drive aid; care flags drive care records only.
    DIFFICULTY = (
        Category.POVERTY_ALLEVIATED,
        Category.UNSTABLE,
        Category.MARGINAL,
        Category.SUDDEN_HARDSHIP,
        Category.DIBAO,
        Category.EXTREME_HARDSHIP,
        Category.ORPHAN,
        Category.DISABLED,
        Category.MARTYR_CHILD,
    )
    MONITORED = (Category.UNSTABLE, Category.MARGINAL, Category.SUDDEN_HARDSHIP)
    CARE_FLAGS = (Category.LEFT_BEHIND, Category.IN_DIFFICULTY, Category.MIGRANT)
    SENSITIVE = (Category.DISABLED,)

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="categories"
    )
    category = models.CharField(_("category"), max_length=24, choices=Category.choices)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.CharField(_("source"), max_length=100, blank=True, help_text=_("Which list or document."))

    objects = StudentCategoryQuerySet.as_manager()

    class Meta:
        verbose_name = _("student category")
        verbose_name_plural = _("student categories")
        ordering = ["student_id", "category", "valid_from"]
        constraints = [
            models.CheckConstraint(
                name="category_dates_ordered",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                violation_error_message=_("The end date is before the start date."),
            ),
        ]
        indexes = [
            # "Which students are in category X on date D" (eligibility, reports, matching).
            models.Index(fields=["category", "valid_from", "valid_to"], name="category_on_date_idx"),
        ]

    def __str__(self) -> str:
        return self.get_category_display()

    def applies_on(self, on: date) -> bool:
        return self.valid_from <= on and (self.valid_to is None or self.valid_to >= on)

    def clean(self) -> None:
        if self.valid_to and self.valid_from and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end date is before the start date.")})


class TransferQuerySet(ScopedQuerySet):
    # Both schools see a transfer between them.
    scope_townships = ("from_school__township", "to_school__township")

    def _for_scope(self, scope):
        if scope.school_id is not None:
            return self.filter(Q(from_school_id=scope.school_id) | Q(to_school_id=scope.school_id))
        return super()._for_scope(scope)


class Transfer(models.Model):
    """A move between schools of the county; the student's row keeps only the current school."""

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.CASCADE, related_name="transfers"
    )
    from_school = models.ForeignKey(
        School, verbose_name=_("from school"), on_delete=models.PROTECT, related_name="transfers_out"
    )
    to_school = models.ForeignKey(
        School, verbose_name=_("to school"), on_delete=models.PROTECT, related_name="transfers_in"
    )
    on = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TransferQuerySet.as_manager()

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        ordering = ["-on", "-pk"]

    def __str__(self) -> str:
        return f"{self.student_id}: {self.from_school_id} -> {self.to_school_id} ({self.on})"


class ImportJobQuerySet(ScopedQuerySet):
    def _for_scope(self, scope):
        # County roles see every import; others only their own (filtered in visible_to, which knows the user).
        return self.all() if scope.county else self.none()

    def visible_to(self, user):
        scope = scope_of(user)
        if scope.county or scope == NO_SCOPE:
            return self._for_scope(scope)
        return self.filter(uploaded_by=user)


class ImportJob(models.Model):
    """One upload of a student list: validated in full, then written in one transaction or not at all."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        VALIDATING = "validating", _("Checking rows")
        WRITING = "writing", _("Writing")
        DONE = "done", _("Imported")
        REJECTED = "rejected", _("Refused: nothing was imported")
        FAILED = "failed", _("Failed: nothing was imported")

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("For a principal's import: the only school the file may touch."),
    )
    file = models.FileField(upload_to="imports/%Y/%m/")
    filename = models.CharField(max_length=200)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    # [{"row": 5, "id": "3607**********1234", "name": "...", "errors": ["..."]}]
    errors = models.JSONField(default=list, blank=True)
    # Possible duplicates for review: same name and birth date as another student, different ID number.
    duplicates = models.JSONField(default=list, blank=True)
    # [{"row": 2, "student": 12, "action": "created"|"updated"|"unchanged"}]
    results = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("student import")
        verbose_name_plural = _("student imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.REJECTED, self.Status.FAILED)

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))
