from __future__ import annotations

from datetime import date

import pgtrigger
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import NO_SCOPE, ScopedQuerySet, scope_of
from portal.tracking import track_changes
from students import id_numbers, national_numbers

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
    # A township merged into another (乡镇合并) stays, for the reports of the years before: its schools moved
    # to the other township on `closed_on` (students.services.merge_township).
    closed_on = models.DateField(
        pgettext_lazy("township", "closed on"),
        null=True,
        blank=True,
        help_text=_("The first day the township no longer has schools of its own (merged into another)."),
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )

    objects = TownshipQuerySet.as_manager()

    class Meta:
        verbose_name = _("township")
        verbose_name_plural = _("townships")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


# The school list through time (SchoolSpell): a school's name, township, type, ownership and rural flag as
# they were on each day, kept by the database from the School row whatever writes it, as the register is kept
# from the Student row (see `REGISTER_COLUMNS` below). A new school's first spell holds from the beginning (no
# `valid_from`); a change is effective on the day the writing transaction names (`students.register.effective`,
# the same setting as the register's), else today: the spell running that day is split there and the spells
# from that day on take the changed columns. Reports read a school's attributes as of their reference date
# (`school_as_of`, `school_spell_on`), never today's row, so that a township merger, a school changing type or
# a renamed school leaves past years' figures and workbooks as they were.
SCHOOL_SPELL_COLUMNS = ("name", "township_id", "school_type", "ownership", "is_rural")
_SCHOOL_COLUMNS = ", ".join(SCHOOL_SPELL_COLUMNS)
_SCHOOL_CHANGED = (
    "new_values n JOIN old_values o ON o.id = n.id AND "
    f"({', '.join('n.' + c for c in SCHOOL_SPELL_COLUMNS)}) IS DISTINCT FROM "
    f"({', '.join('o.' + c for c in SCHOOL_SPELL_COLUMNS)})"
)
_SCHOOL_TAKE = ", ".join(
    f"CASE WHEN n.{c} IS DISTINCT FROM o.{c} THEN n.{c} ELSE {{spell}}.{c} END" for c in SCHOOL_SPELL_COLUMNS
)
SCHOOL_SPELL_ON_INSERT = f"""
    INSERT INTO students_schoolspell (school_id, {_SCHOOL_COLUMNS}, valid_from, valid_to, recorded_at)
    SELECT n.id, {", ".join("n." + c for c in SCHOOL_SPELL_COLUMNS)}, NULL, NULL, now() FROM new_values n;
    RETURN NULL;
"""
SCHOOL_SPELL_ON_UPDATE = f"""
    effective := coalesce(nullif(current_setting('portal.register_on', true), '')::date,
                          (now() AT TIME ZONE '{settings.TIME_ZONE}')::date);
    -- Spells that begin on or after the effective date take the change.
    UPDATE students_schoolspell s SET ({_SCHOOL_COLUMNS}) = ({_SCHOOL_TAKE.format(spell="s")}),
           recorded_at = now()
      FROM {_SCHOOL_CHANGED}
     WHERE s.school_id = n.id AND s.valid_from >= effective;
    -- The spell running on the effective date is split there: its head keeps its values, its tail takes the
    -- change.
    WITH running AS (
        SELECT s.id, s.valid_to AS old_to FROM students_schoolspell s JOIN {_SCHOOL_CHANGED} ON s.school_id = n.id
         WHERE (s.valid_from IS NULL OR s.valid_from < effective) AND (s.valid_to IS NULL OR s.valid_to >= effective)
    ), head AS (
        UPDATE students_schoolspell s SET valid_to = effective - 1 FROM running r WHERE s.id = r.id
        RETURNING s.school_id, {_SCHOOL_COLUMNS}, r.old_to
    )
    INSERT INTO students_schoolspell (school_id, {_SCHOOL_COLUMNS}, valid_from, valid_to, recorded_at)
    SELECT h.school_id, {_SCHOOL_TAKE.format(spell="h")}, effective, h.old_to, now()
      FROM head h JOIN {_SCHOOL_CHANGED} ON n.id = h.school_id;
    -- A school with no spell on or after the effective date gets one.
    INSERT INTO students_schoolspell (school_id, {_SCHOOL_COLUMNS}, valid_from, valid_to, recorded_at)
    SELECT n.id, {", ".join("n." + c for c in SCHOOL_SPELL_COLUMNS)}, effective, NULL, now()
      FROM {_SCHOOL_CHANGED}
     WHERE NOT EXISTS (SELECT 1 FROM students_schoolspell s
                        WHERE s.school_id = n.id AND (s.valid_to IS NULL OR s.valid_to >= effective));
    RETURN NULL;
"""
SCHOOL_SPELL_NO_OVERLAP = """
    IF EXISTS (
        SELECT 1 FROM new_values n JOIN students_schoolspell s ON s.school_id = n.school_id AND s.id <> n.id
         WHERE coalesce(s.valid_from, '-infinity'::date) <= coalesce(n.valid_to, 'infinity'::date)
           AND coalesce(n.valid_from, '-infinity'::date) <= coalesce(s.valid_to, 'infinity'::date)
    ) THEN
        RAISE EXCEPTION 'two spells of a school overlap' USING ERRCODE = 'exclusion_violation';
    END IF;
    RETURN NULL;
"""


class SchoolQuerySet(ScopedQuerySet):
    scope_school = "pk"
    scope_townships = ("township",)

    def active(self):
        return self.filter(is_active=True)

    def opened_by(self, day: date):
        """Schools that had opened by `day` (or have no opening date: opened before records began), closed
        since or not."""
        return self.filter(Q(opened_on__isnull=True) | Q(opened_on__lte=day))

    def open_on(self, day: date):
        """The county's school list as of `day`: opened by then (or with no opening date recorded) and not
        closed by then."""
        return self.opened_by(day).filter(Q(closed_on__isnull=True) | Q(closed_on__gt=day))


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
    # Not closed: kept by the school's writers from `closed_on` (a database constraint holds them together),
    # so that "in operation" and the county's school list as of a date never disagree.
    is_active = models.BooleanField(_("in operation"), default=True)
    opened_on = models.DateField(
        pgettext_lazy("school", "opened on"),
        null=True,
        blank=True,
        help_text=_("Empty when the school opened before records began."),
    )
    closed_on = models.DateField(
        pgettext_lazy("school", "closed on"),
        null=True,
        blank=True,
        help_text=_("The first day the school no longer runs."),
    )

    objects = SchoolQuerySet.as_manager()

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["township__code", "code"]
        indexes = [
            # School list filtered by township and type (browser, API, report by school type).
            models.Index(fields=["township", "school_type"], name="school_township_type_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                name="school_in_operation_until_closed",
                condition=Q(is_active=True, closed_on__isnull=True)
                | Q(is_active=False, closed_on__isnull=False),
                violation_error_message=_("A school is in operation exactly when it has no closing date."),
            ),
            models.CheckConstraint(
                name="school_closes_after_opening",
                condition=Q(opened_on__isnull=True)
                | Q(closed_on__isnull=True)
                | Q(closed_on__gt=F("opened_on")),
                violation_error_message=_("A school closes after the day it opened."),
            ),
        ]
        triggers = [
            # The school's spells (SchoolSpell) follow every insert and change, whatever writes the row.
            pgtrigger.Trigger(
                name="school_spell_insert",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_values"),
                func=pgtrigger.Func(SCHOOL_SPELL_ON_INSERT),
            ),
            pgtrigger.Trigger(
                name="school_spell_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_values", new="new_values"),
                declare=[("effective", "date")],
                func=pgtrigger.Func(SCHOOL_SPELL_ON_UPDATE),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stages(self) -> tuple[str, ...]:
        return self.TYPE_STAGES[self.school_type]

    @staticmethod
    def dates_errors(
        opened_on: date | None, closed_on: date | None, *, school_pk: int | None = None
    ) -> dict[str, list]:
        """What is wrong with a school's opening and closing dates (the form's and the API's check)."""
        # A school opens before its first pupil: an opening date after pupils were on its register would drop
        # them from the school list of those years (and move the reports already built for them).
        if school_pk is not None and opened_on is not None:
            first = (
                Enrollment.objects.filter(school_id=school_pk, valid_from__lt=opened_on)
                .order_by("valid_from")
                .values_list("valid_from", flat=True)
                .first()
            )
            if first is not None:
                return {
                    "opened_on": [
                        _(
                            "Pupils were on this school's register from %(first)s: the school opened on that day "
                            "or before."
                        )
                        % {"first": first.isoformat()}
                    ]
                }
        if closed_on is None:
            return {}
        if closed_on > timezone.localdate():
            return {"closed_on": [_("Record a school's closing on or after the day it closes, not before.")]}
        if opened_on is not None and closed_on <= opened_on:
            return {"closed_on": [_("A school closes after the day it opened.")]}
        # A school closes when its pupils have left: closing it under them (or back-dated before they left)
        # would count pupils at a school that is not on the year's school list.
        if school_pk is not None and (
            Enrollment.objects.enrolled()
            .filter(school_id=school_pk)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=closed_on))
            .exists()
        ):
            return {
                "closed_on": [
                    _("Pupils are on this school's register on or after that date: transfer them first.")
                ]
            }
        return {}

    def clean(self) -> None:
        errors = self.dates_errors(self.opened_on, self.closed_on, school_pk=self.pk)
        if errors:
            raise ValidationError(errors)
        # Closing a school is recording its closing date; "in operation" follows from it.
        self.is_active = self.closed_on is None


class SchoolSpellQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)

    def on(self, day: date):
        """Each school's spell that held on `day` (one per school)."""
        return self.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=day)).filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=day)
        )


@track_changes()
class SchoolSpell(models.Model):
    """A school's name, township, type, ownership and rural flag from `valid_from` to `valid_to` (see
    `SCHOOL_SPELL_COLUMNS`): written by the database from the School row, read by `school_as_of` and
    `school_spell_on`."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="spells"
    )
    name = models.CharField(_("name"), max_length=100)
    township = models.ForeignKey(
        Township, verbose_name=_("township"), on_delete=models.PROTECT, related_name="+"
    )
    school_type = models.CharField(_("school type"), max_length=24, choices=School.Type.choices)
    ownership = models.CharField(_("ownership"), max_length=8, choices=School.Ownership.choices)
    is_rural = models.BooleanField(_("rural"))
    valid_from = models.DateField(
        pgettext_lazy("register", "from"), null=True, blank=True, help_text=_("Empty: since records began.")
    )
    valid_to = models.DateField(
        pgettext_lazy("register", "to"), null=True, blank=True, help_text=_("Empty while it still holds.")
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = SchoolSpellQuerySet.as_manager()

    class Meta:
        verbose_name = _("school attributes spell")
        verbose_name_plural = _("school attributes through time")
        ordering = ["school_id", F("valid_from").asc(nulls_first=True)]
        indexes = [models.Index(fields=["school", "valid_from", "valid_to"], name="school_spell_school_idx")]
        constraints = [
            models.CheckConstraint(
                name="school_spell_dates_in_order",
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_to__gte=F("valid_from")),
            ),
        ]
        triggers = [
            # At most one spell of a school on any day (as the register's spells: no btree_gist).
            pgtrigger.Trigger(
                name="school_spell_no_overlap_insert",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_values"),
                func=pgtrigger.Func(SCHOOL_SPELL_NO_OVERLAP),
            ),
            pgtrigger.Trigger(
                name="school_spell_no_overlap_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_values", new="new_values"),
                func=pgtrigger.Func(SCHOOL_SPELL_NO_OVERLAP),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_id} {self.township_id} {self.school_type} {self.valid_from or ''}–{self.valid_to or ''}"


def school_as_of(day: date, field: str, school: str = "school"):
    """An expression for `field` (name, township_id, school_type, ownership, is_rural) of the school at
    `school` (a path from the queried model: "school", "pilot__school"; "pk" on School itself) as it was on
    `day`, for one row or a few. Over many rows (a breakdown of the register or of payments) join the spell once with
    `school_spell_on` instead: this is a subquery per row."""
    from django.db.models import OuterRef, Subquery

    spell = SchoolSpell.objects.filter(school=OuterRef(school)).on(day).values(field)[:1]
    return Subquery(spell)


def school_spell_on(day: date, school: str = "school"):
    """The spell of the school at `school` (as `school_as_of`) that held on `day`, as a relation to join
    (`rows.alias(spell=school_spell_on(day)).annotate(township_then=F("spell__township_id"))`): one LEFT JOIN
    whose condition picks the spell of that day (at most one per school: the spells never overlap), so that
    the database hashes the few hundred schools' spells once instead of looking one up for every row."""
    from django.db.models import FilteredRelation

    spells = "spells" if school == "pk" else f"{school}__spells"
    return FilteredRelation(
        spells,
        condition=(Q(**{f"{spells}__valid_from__isnull": True}) | Q(**{f"{spells}__valid_from__lte": day}))
        & (Q(**{f"{spells}__valid_to__isnull": True}) | Q(**{f"{spells}__valid_to__gte": day})),
    )


class TeacherCountQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)


@track_changes()
class TeacherCount(models.Model):
    """Teachers at a school in a school year: the headcount, and of them the teachers on the establishment
    (在编, the papers' "在编教师 3632 人"), never more than the headcount."""

    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="teacher_counts"
    )
    school_year = models.PositiveSmallIntegerField(
        _("school year"),
        help_text=_("The year the school year starts, e.g. 2022 for 2022-2023."),
        validators=SCHOOL_YEAR_VALIDATORS,
    )
    headcount = models.PositiveIntegerField(_("teachers"))
    # Blank where the school has not said: an unknown count, not zero.
    on_staff = models.PositiveIntegerField(
        _("teachers on the establishment"),
        null=True,
        blank=True,
        help_text=_("Of the teachers, those on the establishment (在编); at most the headcount."),
    )

    objects = TeacherCountQuerySet.as_manager()

    class Meta:
        verbose_name = _("teacher headcount")
        verbose_name_plural = _("teacher headcounts")
        constraints = [
            models.UniqueConstraint(fields=["school", "school_year"], name="one_teacher_count_per_year"),
            models.CheckConstraint(
                condition=Q(on_staff__isnull=True) | Q(on_staff__lte=models.F("headcount")),
                name="on_staff_within_headcount",
                violation_error_message=_(
                    "The teachers on the establishment cannot be more than the school's teachers."
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school} {self.school_year}: {self.headcount}"

    def clean(self) -> None:
        if self.on_staff is not None and self.headcount is not None and self.on_staff > self.headcount:
            raise ValidationError(
                {
                    "on_staff": _(
                        "The teachers on the establishment (%(on_staff)s) cannot be more than the school's "
                        "teachers (%(headcount)s)."
                    )
                    % {"on_staff": self.on_staff, "headcount": self.headcount}
                }
            )


# --- The register through time -----------------------------------------------------------------------------
#
# The Student row is the child as they are now. The register (`Enrollment`) is where and how they were on
# every day: spells with the school, stage, grade, boarding, major and status they held from `valid_from` to
# `valid_to` (both inclusive; open = still so). Reports, eligibility and dashboards read "the register on
# date D" (`Enrollment.objects.on(D)`), never today's row, so a past year reads the same whatever happens later.
#
# The database keeps it, like the change history, so that no writer can skip it (form, API, admin, the COPY
# import, `update()`): a trigger on students_student closes the student's spells at the change's effective
# date and opens a new one. The effective date is today (county time) unless the writing transaction says
# otherwise through `students.register.effective(on)` (a transfer on its date, a roll-over on 1 September, a
# return from dropout on the day the child came back); a new student's spell starts on `enrolled_on`, else
# today. A change effective on D splits the spell running on D and gives the columns it changed to every spell
# from D on (a back-dated transfer moves the roll-over's spell too, which keeps its grade). Writers that build the register
# themselves (the roll-over, a past year's roll) switch the trigger off for their transaction
# (`students.register.unsynced()`) and write spells directly.
#
# A child whose latest spell ended before today (known only from a past year's roll) has the status "not on this
# school year's roll" (`Student.Status.OFF_ROLL`): the past roll gives it, and a later roll, the full roll or the
# roll-over lifts it by putting the child on a later year's register. The register has no spell of that status:
# it is the absence of a spell, so a change to such a child's row opens none, and a row set to it closes the
# child's spell on the effective date.

OFF_ROLL = "off_roll"  # Student.Status.OFF_ROLL, for the triggers (the class is defined below)
REGISTER_COLUMNS = ("school_id", "stage", "grade", "is_boarding", "is_agricultural_major", "status")
_COLUMNS = ", ".join(REGISTER_COLUMNS)
# The change's effective date: the transaction's setting, else today in the county's time zone.
_EFFECTIVE = (
    "coalesce(nullif(current_setting('portal.register_on', true), '')::date, "
    f"(now() AT TIME ZONE '{settings.TIME_ZONE}')::date)"
)
_SOURCE = "coalesce(nullif(current_setting('portal.register_source', true), ''), '{default}')"
_SKIP = "IF coalesce(current_setting('portal.register_sync', true), '') = 'off' THEN RETURN NULL; END IF;"
_CHANGED = (
    "new_values n JOIN old_values o ON o.id = n.id AND "
    f"({', '.join('n.' + c for c in REGISTER_COLUMNS)}) IS DISTINCT FROM "
    f"({', '.join('o.' + c for c in REGISTER_COLUMNS)})"
)
REGISTER_ON_INSERT = f"""
    {_SKIP}
    INSERT INTO students_enrollment (student_id, {_COLUMNS}, valid_from, valid_to, source, recorded_at)
    SELECT n.id, {", ".join("n." + c for c in REGISTER_COLUMNS)},
           coalesce(nullif(current_setting('portal.register_on', true), '')::date, n.enrolled_on,
                    (now() AT TIME ZONE '{settings.TIME_ZONE}')::date),
           NULL, {_SOURCE.format(default="new")}, now()
    FROM new_values n WHERE n.status <> '{OFF_ROLL}';
    RETURN NULL;
"""
# The changed columns take the new value; the others keep the spell's own (a spell after a back-dated change,
# e.g. the roll-over's from 1 September, keeps the grade it gave while taking the new school).
_TAKE = ", ".join(
    f"CASE WHEN n.{c} IS DISTINCT FROM o.{c} THEN n.{c} ELSE {{spell}}.{c} END" for c in REGISTER_COLUMNS
)
REGISTER_ON_UPDATE = f"""
    {_SKIP}
    effective := {_EFFECTIVE};
    -- A child off the roll has no spell from the effective date on.
    DELETE FROM students_enrollment e USING {_CHANGED}
     WHERE e.student_id = n.id AND e.valid_from >= effective AND n.status = '{OFF_ROLL}';
    -- Spells that begin on or after the effective date take the change.
    UPDATE students_enrollment e SET ({_COLUMNS}) = ({_TAKE.format(spell="e")}), recorded_at = now()
      FROM {_CHANGED}
     WHERE e.student_id = n.id AND e.valid_from >= effective;
    -- The spell running on the effective date is split there: its head keeps its values, its tail takes the
    -- change (the tail is inserted after its head is closed: the rows come out of the UPDATE one by one).
    WITH running AS (
        SELECT e.id, e.valid_to AS old_to FROM students_enrollment e JOIN {_CHANGED} ON e.student_id = n.id
         WHERE e.valid_from < effective AND (e.valid_to IS NULL OR e.valid_to >= effective)
    ), head AS (
        UPDATE students_enrollment e SET valid_to = effective - 1 FROM running r WHERE e.id = r.id
        RETURNING e.student_id, {_COLUMNS}, r.old_to
    )
    INSERT INTO students_enrollment (student_id, {_COLUMNS}, valid_from, valid_to, source, recorded_at)
    SELECT h.student_id, {_TAKE.format(spell="h")}, effective, h.old_to,
           {_SOURCE.format(default="change")}, now()
      FROM head h JOIN {_CHANGED} ON n.id = h.student_id
     WHERE n.status <> '{OFF_ROLL}';
    -- A student with no spell on or after the effective date (the last one closed before it) gets one.
    INSERT INTO students_enrollment (student_id, {_COLUMNS}, valid_from, valid_to, source, recorded_at)
    SELECT n.id, {", ".join("n." + c for c in REGISTER_COLUMNS)}, effective, NULL,
           {_SOURCE.format(default="change")}, now()
      FROM {_CHANGED}
     WHERE n.status <> '{OFF_ROLL}' AND NOT EXISTS (SELECT 1 FROM students_enrollment e
                        WHERE e.student_id = n.id AND (e.valid_to IS NULL OR e.valid_to >= effective));
    RETURN NULL;
"""


class StudentQuerySet(ScopedQuerySet):
    scope_school = "school"
    # A township officer sees the township's schools and the children who live in the township.
    scope_townships = ("school__township", "home_township")

    def enrolled(self):
        return self.filter(status=Student.Status.ENROLLED)

    def visible_during(self, user, start: date, end: date):
        """The students `user` sees today, and those the register had, on some day from `start` to `end`, at a
        school (or, for a township officer, living in a township) the user sees: a child who moved to another
        school stays on the former school's lists of that period (its year's identified students)."""
        visible = self.visible_to(user)
        scope = scope_of(user)
        if scope.county or scope == NO_SCOPE:
            return visible
        were_here = Enrollment.objects.visible_to(user).during(start, end).values("student_id")
        return self.filter(pk__in=visible.values("pk").union(were_here))

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
        SUSPENDED = "suspended", pgettext_lazy("student status", "Suspended")
        DROPPED_OUT = "dropped_out", _("Dropped out")
        DECEASED = "deceased", _("Deceased")
        # Known from a past year's roll only (or whose latest spell on the register is such a year's): no spell
        # covers today, so the child is counted nowhere today. Given and lifted by the rolls and the roll-over
        # (students.roll, students.rollover), never chosen by a clerk; the register holds no spell of it.
        OFF_ROLL = "off_roll", _("Not on this school year's roll")

    # Unique through the constraint below, not `unique=True`: on PostgreSQL a unique CharField also gets a
    # second, `varchar_pattern_ops` index for LIKE 'prefix%' queries, which nothing asks of an ID number (a
    # search matches a whole number only: students.filters.search_by_name_or_id), and which every import
    # paid for on each row written (issue 19).
    id_number = models.CharField(_("ID number"), max_length=18, validators=[id_numbers.validate_id_number])
    # 全国学籍号: G + the ID number (or J/L + 18 digits; students.national_numbers). Empty until known; unique
    # when set (the constraint below), and the imports match a row on it before the ID number. It holds the
    # ID number, so it is masked wherever the ID number is.
    national_student_number = models.CharField(
        _("national student number"),
        max_length=19,
        blank=True,
        default="",
        db_default="",
        validators=[national_numbers.validate_national_student_number],
        help_text=_("全国学籍号: G followed by the ID number, or the J or L number the register gave."),
    )
    name = models.CharField(_("name of the student"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("birth date"))
    # No index of its own: student_school_stage_idx (school, stage, grade) serves every lookup by school.
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="students", db_index=False
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
            # One student per national student number, when known; the imports match on its index first.
            models.UniqueConstraint(
                fields=["national_student_number"],
                condition=~Q(national_student_number=""),
                name="student_national_number_unique",
                violation_error_message=_("This national student number is already on another student."),
            ),
        ]
        triggers = [
            # The register (Enrollment) follows every insert and change, whatever writes the row; see above.
            pgtrigger.Trigger(
                name="student_register_insert",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_values"),
                func=pgtrigger.Func(REGISTER_ON_INSERT),
            ),
            pgtrigger.Trigger(
                name="student_register_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_values", new="new_values"),
                declare=[("effective", "date")],
                func=pgtrigger.Func(REGISTER_ON_UPDATE),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id_number}）"

    @property
    def masked_national_student_number(self) -> str:
        return national_numbers.mask(self.national_student_number)

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
        self.national_student_number = national_numbers.normalize(self.national_student_number)
        super().clean_fields(exclude=exclude)

    def g_number_holder(self) -> Student | None:
        """The other student whose ID number this student's G number (G + an ID number) holds, if any."""
        number = self.national_student_number or ""
        if not number.startswith("G") or number[1:] == self.id_number:
            return None
        return Student.objects.exclude(pk=self.pk).filter(id_number=number[1:]).only("name").first()

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
        holder = self.g_number_holder()
        if holder is not None:
            errors["national_student_number"] = [
                _(
                    "This national student number is G followed by the ID number of another student "
                    "(%(name)s): a G number holds the child's own ID number."
                )
                % {"name": holder.name}
            ]
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


NO_OVERLAP = """
    IF EXISTS (
        SELECT 1 FROM new_values n JOIN students_enrollment e ON e.student_id = n.student_id AND e.id <> n.id
         WHERE e.valid_from <= coalesce(n.valid_to, 'infinity'::date)
           AND n.valid_from <= coalesce(e.valid_to, 'infinity'::date)
    ) THEN
        RAISE EXCEPTION 'two spells of a student on the register overlap' USING ERRCODE = 'exclusion_violation';
    END IF;
    RETURN NULL;
"""


class EnrollmentQuerySet(ScopedQuerySet):
    scope_school = "school"
    # A township officer sees the spells at the township's schools and of the children who live there.
    scope_townships = ("school__township", "student__home_township")

    def on(self, day: date):
        """The register on `day`: every student's spell that held on that day (one per student)."""
        return self.filter(valid_from__lte=day).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day))

    def enrolled(self):
        return self.filter(status=Student.Status.ENROLLED)

    def during(self, start: date, end: date):
        """Spells that held on any day from `start` to `end`."""
        return self.filter(valid_from__lte=end).filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))


class Enrollment(models.Model):
    """One spell of a student on the register: where and how they were from `valid_from` to `valid_to`."""

    # No single-column indexes: enrollment_student_idx and enrollment_school_idx begin with these columns.
    student = models.ForeignKey(
        Student,
        verbose_name=_("student"),
        on_delete=models.CASCADE,
        related_name="enrollments",
        db_index=False,
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="enrollments", db_index=False
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    grade = models.PositiveSmallIntegerField(_("grade"))
    is_boarding = models.BooleanField(_("boarder"), default=False)
    is_agricultural_major = models.BooleanField(_("agricultural major"), default=False)
    status = models.CharField(_("status"), max_length=16, choices=Student.Status.choices)
    valid_from = models.DateField(pgettext_lazy("register", "from"))
    valid_to = models.DateField(
        pgettext_lazy("register", "to"), null=True, blank=True, help_text=_("Empty while it still holds.")
    )
    # What wrote the spell: "new", "change", "rollover", "roll <year>", "backfill" …
    source = models.CharField(_("source"), max_length=40, blank=True)
    rollover = models.ForeignKey(
        "students.Rollover",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="enrollments",
        db_index=False,  # enrollment_rollover_idx, partial: most spells come from no roll-over
        help_text=_("The roll-over that opened this spell (so that it can be undone)."),
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        verbose_name = _("register entry")
        verbose_name_plural = _("register")
        ordering = ["student_id", "valid_from"]
        indexes = [
            models.Index(fields=["student", "valid_from"], name="enrollment_student_idx"),
            # The register on a date, by school (reports, dashboards).
            models.Index(fields=["school", "valid_from", "valid_to"], name="enrollment_school_idx"),
            models.Index(fields=["valid_from", "valid_to"], name="enrollment_dates_idx"),
            # A roll-over's spells (its undo); the spells of imports and changes, most of them, are not indexed.
            models.Index(
                fields=["rollover"], name="enrollment_rollover_idx", condition=Q(rollover__isnull=False)
            ),
        ]
        constraints = [
            models.CheckConstraint(
                name="enrollment_dates_in_order",
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
            ),
        ]
        triggers = [
            # At most one spell of a student on any day. An exclusion constraint would say it in one line but
            # needs the btree_gist extension, which the embedded PostgreSQL of `make run` does not ship: this
            # statement-level check joins the statement's rows to the student's other spells (one index scan
            # per student) and fails with the exclusion-violation code, an IntegrityError in Django.
            pgtrigger.Trigger(
                name="enrollment_no_overlap_insert",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(new="new_values"),
                func=pgtrigger.Func(NO_OVERLAP),
            ),
            pgtrigger.Trigger(
                name="enrollment_no_overlap_update",
                operation=pgtrigger.Update,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                referencing=pgtrigger.Referencing(old="old_values", new="new_values"),
                func=pgtrigger.Func(NO_OVERLAP),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.school_id} {self.stage}{self.grade} {self.valid_from}–{self.valid_to or ''}"


class RolloverQuerySet(ScopedQuerySet):
    # Which school years were opened, and when, is the county's calendar: every signed-in user may read it.
    scope_county_wide = True

    def applied(self):
        return self.filter(status=Rollover.Status.APPLIED)


class Rollover(models.Model):
    """The autumn roll-over (升级/毕业) that opened a school year's register: who applied it, when; undone
    until the first change of the new year (students.rollover). A county's roll-over is written by a Celery
    task: `applying` until it is done (`applied`), or `failed` with the reason (nothing written)."""

    class Status(models.TextChoices):
        APPLYING = "applying", _("Being applied")
        APPLIED = "applied", _("Applied")
        FAILED = "failed", pgettext_lazy("roll-over status", "Failed")
        UNDONE = "undone", _("Undone")

    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.APPLIED)
    summary = models.JSONField(_("summary"), default=dict, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True, help_text=_("Why applying it failed."))

    objects = RolloverQuerySet.as_manager()

    class Meta:
        verbose_name = _("roll-over")
        verbose_name_plural = _("roll-overs")
        ordering = ["-school_year"]
        constraints = [
            models.UniqueConstraint(
                fields=["school_year"],
                condition=Q(status__in=["applied", "applying"]),
                name="one_rollover_per_year",
                violation_error_message=_("This school year has already been rolled over."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.school_year}"


class RolloverConfirmationQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township",)


@track_changes()
class RolloverConfirmation(models.Model):
    """A principal's word that the school's list after a roll-over is right (one per school and roll-over)."""

    rollover = models.ForeignKey(
        Rollover, verbose_name=_("roll-over"), on_delete=models.CASCADE, related_name="confirmations"
    )
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.CASCADE, related_name="rollover_confirmations"
    )
    pupils = models.PositiveIntegerField(_("pupils on the list"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), auto_now_add=True)

    objects = RolloverConfirmationQuerySet.as_manager()

    class Meta:
        verbose_name = _("school list confirmation")
        verbose_name_plural = _("school list confirmations")
        ordering = ["rollover", "school"]
        constraints = [
            models.UniqueConstraint(
                fields=["rollover", "school"],
                name="one_confirmation_per_school_and_rollover",
                violation_error_message=_("This school's list has already been confirmed."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.rollover} {self.school_id}"


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
        PREVIEW = "preview", _("Checked: waiting to be applied")
        DONE = "done", _("Imported")
        REJECTED = "rejected", _("Refused: nothing was imported")
        FAILED = "failed", _("Failed: nothing was imported")

    class Kind(models.TextChoices):
        STUDENTS = "students", _("Student list")
        FULL_ROLL = "full_roll", _("Full roll of a school year")
        PAST_ROLL = "past_roll", _("Past year's roll")

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    school = models.ForeignKey(
        School,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("For a principal's import: the only school the file may touch."),
    )
    # A roll (students.roll) is checked into a preview first and written only when applied.
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.STUDENTS, db_default="students")
    school_year = models.PositiveSmallIntegerField(null=True, blank=True, validators=SCHOOL_YEAR_VALIDATORS)
    roll_date = models.DateField(null=True, blank=True)
    # {"counts": {"new": 3, "changed": 1, "unchanged": 9, "missing": 2}, "new": [...], "changed": [...], ...}
    preview = models.JSONField(default=dict, blank=True)
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


class MissingFromRollQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("school__township", "student__home_township")

    def pending(self):
        return self.filter(status=MissingFromRoll.Status.PENDING)

    def compulsory(self):
        return self.filter(is_compulsory=True)


@track_changes()
class MissingFromRoll(models.Model):
    """A child the register had at one of the county's schools on a full roll's date whom the roll does not
    list. Never deleted, never guessed: someone resolves it with the reason, which sets the child's status
    from the day it happened. An unresolved compulsory-age child is a suspected dropout (the 四查三比对 lists of
    dropout_control read these)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To resolve")
        RESOLVED = "resolved", _("Resolved")

    class Reason(models.TextChoices):
        TRANSFERRED_OUT = "transferred_out", _("Transferred out of county")
        GRADUATED = "graduated", _("Graduated")
        DECEASED = "deceased", _("Deceased")
        DROPPED_OUT = "dropped_out", _("Dropped out")
        SUSPENDED = "suspended", pgettext_lazy("student status", "Suspended")
        ELSEWHERE = "elsewhere", _("On the roll of another school")
        ON_LATER_ROLL = "on_later_roll", _("Listed by a later roll")

    # The status each reason gives the child (None: the register stays as it is).
    REASON_STATUS = {
        Reason.TRANSFERRED_OUT: Student.Status.TRANSFERRED_OUT,
        Reason.GRADUATED: Student.Status.GRADUATED,
        Reason.DECEASED: Student.Status.DECEASED,
        Reason.DROPPED_OUT: Student.Status.DROPPED_OUT,
        Reason.SUSPENDED: Student.Status.SUSPENDED,
        Reason.ELSEWHERE: None,
        Reason.ON_LATER_ROLL: None,
    }

    student = models.ForeignKey(
        Student, verbose_name=_("student"), on_delete=models.PROTECT, related_name="missing_from_rolls"
    )
    import_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="missing"
    )
    school_year = models.PositiveSmallIntegerField(_("school year"), validators=SCHOOL_YEAR_VALIDATORS)
    roll_date = models.DateField(_("date of the roll"))
    school = models.ForeignKey(
        School, verbose_name=_("school"), on_delete=models.PROTECT, related_name="missing_from_rolls"
    )
    stage = models.CharField(_("stage"), max_length=12, choices=Stage.choices)
    grade = models.PositiveSmallIntegerField(_("grade"))
    is_compulsory = models.BooleanField(_("compulsory age"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True)
    resolved_on = models.DateField(_("effective on"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MissingFromRollQuerySet.as_manager()

    class Meta:
        verbose_name = _("child missing from the roll")
        verbose_name_plural = _("children missing from the roll")
        ordering = ["school_id", "stage", "grade", "student_id"]
        constraints = [
            # A child missing from two rolls in a row is one record to resolve, not two.
            models.UniqueConstraint(
                fields=["student"], condition=Q(status="pending"), name="one_pending_missing_per_child"
            ),
            models.CheckConstraint(
                name="resolved_missing_has_reason",
                condition=Q(status="pending") | (~Q(reason="") & Q(resolved_on__isnull=False)),
            ),
        ]
        indexes = [
            # The dropout office's list: unresolved compulsory-age children, by school.
            models.Index(fields=["status", "is_compulsory", "school"], name="missing_pending_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.school_year}"
