"""Dropout control (控辍保学): cases kept until closed, the 六对一 team, persuasion visits, outcomes,
送教上门 logs, the household-register comparison (四查三比对), long absences and care records.

The township responsible for a case is where the child lives (乡镇属地); the school is the one responsible
(the child's school or the school of the catchment area). Both decide who sees the case.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from portal.access import ScopedQuerySet
from portal.tracking import track_changes
from students import id_numbers

phone_validator = RegexValidator(
    r"^[0-9+\- ]{7,20}$", _("Enter a phone number of 7 to 20 digits (a dash is allowed).")
)


class DropoutCaseQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("township",)

    def open(self):
        return self.filter(status=DropoutCase.Status.OPEN)

    def closed(self):
        return self.filter(status=DropoutCase.Status.CLOSED)

    def with_stage(self):
        """Annotate `watching`: whether a returned child is being watched (lists show the case's stage)."""
        return self.annotate(
            watching=models.Exists(
                ReturnWatch.objects.filter(case=models.OuterRef("pk"), status=ReturnWatch.Status.WATCHING)
            )
        )

    def in_stage(self, stage: str):
        watching = ReturnWatch.objects.filter(case=models.OuterRef("pk"), status=ReturnWatch.Status.WATCHING)
        if stage == DropoutCase.Stage.CLOSED:
            return self.closed()
        if stage == DropoutCase.Stage.WATCHED:
            return self.open().filter(models.Exists(watching))
        return self.open().exclude(models.Exists(watching))


@track_changes()
class DropoutCase(id_numbers.MaskedIdNumberMixin, models.Model):
    """A child of compulsory age out of school, followed until the case is closed (销号) with an outcome."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    class Stage(models.TextChoices):
        """Where a case is on its way: found → returned and watched → closed (销号)."""

        FOUND = "found", _("Out of school")
        WATCHED = "watched", _("Returned, watched")
        CLOSED = "closed", _("Closed")

    class FoundBy(models.TextChoices):
        SCHOOL_REPORT = "school_report", _("School report")
        TOWNSHIP_SURVEY = "township_survey", _("Township survey")
        DATA_COMPARISON = "data_comparison", _("Data comparison")

    class Reason(models.TextChoices):
        FAMILY_HARDSHIP = "family_hardship", _("Family hardship")
        STUDY_DIFFICULTY = "study_difficulty", _("Study difficulty")
        ILLNESS = "illness", _("Illness")
        DISABILITY = "disability", _("Disability")
        MIGRATION = "migration", _("Migration with parents")
        MARRIAGE = "marriage", _("Early marriage")
        WORK = "work", _("Went to work")
        OTHER = "other", _("Other")

    class Outcome(models.TextChoices):
        RETURNED = "returned", _("Returned to school")
        SPECIAL_SCHOOL = "special_school", _("Placed in a special school")
        REGULAR_CLASS = "regular_class", _("Placed in a regular class (随班就读)")
        HOME_TEACHING = "home_teaching", _("Home-delivered teaching (送教上门)")
        EXEMPTED = "exempted", _("Exempted or deferred for physical reasons")
        TRANSFERRED_OUT = "transferred_out", _("Transferred out of the county")
        REACHED_16 = "reached_16", _("Reached 16")

    # Outcomes that name the school the child now attends.
    SCHOOL_OUTCOMES = (Outcome.RETURNED, Outcome.SPECIAL_SCHOOL, Outcome.REGULAR_CLASS)
    # Outcomes after which the child is properly placed: the household-register comparison skips them.
    PLACED_OUTCOMES = (
        Outcome.SPECIAL_SCHOOL,
        Outcome.REGULAR_CLASS,
        Outcome.HOME_TEACHING,
        Outcome.EXEMPTED,
        Outcome.TRANSFERRED_OUT,
    )

    student = models.ForeignKey(
        "students.Student",
        verbose_name=_("student"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dropout_cases",
        help_text=_("Empty for a child who is not in the student registry."),
    )
    id_number = models.CharField(_("ID number"), max_length=18, validators=[id_numbers.validate_id_number])
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    township = models.ForeignKey(
        "students.Township",
        verbose_name=_("township"),
        on_delete=models.PROTECT,
        related_name="dropout_cases",
        help_text=_("The township where the child lives: it is responsible for the case."),
    )
    village = models.CharField(_("village"), max_length=100, blank=True)
    school = models.ForeignKey(
        "students.School",
        verbose_name=_("responsible school"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dropout_cases",
    )
    found_on = models.DateField(_("date found"))
    found_by = models.CharField(_("how found"), max_length=20, choices=FoundBy.choices)
    found_late_reason = models.CharField(
        _("why the date found is recorded late"),
        max_length=300,
        blank=True,
        help_text=_("Needed when the date found is more than 30 days ago."),
    )
    reason = models.CharField(pgettext_lazy("dropout", "reason"), max_length=20, choices=Reason.choices)
    reason_detail = models.CharField(_("reason in detail"), max_length=300, blank=True)
    age_exception = models.CharField(
        _("why a case outside compulsory age"),
        max_length=300,
        blank=True,
        help_text=_("Needed only when the child is not 6 to 15 years old on the date found."),
    )
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices, blank=True)
    outcome_on = models.DateField(_("outcome date"), null=True, blank=True)
    outcome_school = models.ForeignKey(
        "students.School",
        verbose_name=_("school attended"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome_note = models.CharField(
        _("outcome note"),
        max_length=500,
        blank=True,
        help_text=_("Evidence for an exemption (medical certificate), the destination of a transfer."),
    )
    home_teacher = models.CharField(_("home-teaching teacher"), max_length=50, blank=True)
    home_schedule = models.CharField(
        _("home-teaching schedule"), max_length=200, blank=True, help_text=_("For example: twice a month.")
    )
    home_visits_per_month = models.PositiveSmallIntegerField(
        _("home-teaching visits a month"), null=True, blank=True
    )
    home_hours_per_term = models.DecimalField(
        _("home-teaching hours a term (plan)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    # 送教上门 and an exemption rest on the county disability assessment committee's decision (残疾人教育专家委员会).
    committee_decided_on = models.DateField(_("committee decision date"), null=True, blank=True)
    committee_decision = models.CharField(_("committee decision"), max_length=300, blank=True)
    committee_document = models.CharField(
        _("committee document"), max_length=100, blank=True, help_text=_("The number of the decision paper.")
    )
    guardian_name = models.CharField(
        _("guardian"),
        max_length=50,
        blank=True,
        help_text=_("Taken from the registry when the child is in it."),
    )
    guardian_phone = models.CharField(
        _("guardian phone"), max_length=20, blank=True, validators=[phone_validator]
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DropoutCaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("dropout case")
        verbose_name_plural = _("dropout cases")
        ordering = ["-found_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=Q(status="open"),
                name="one_open_dropout_case_per_child",
                violation_error_message=_("This child already has an open dropout case."),
            ),
            models.CheckConstraint(
                name="closed_case_has_outcome",
                condition=Q(status="open", outcome="") | (Q(status="closed") & ~Q(outcome="")),
                violation_error_message=_(
                    "A case is closed with an outcome, and only a closed case has one."
                ),
            ),
        ]
        indexes = [
            # Dashboard: open cases by township; lists filtered by status and township.
            models.Index(fields=["status", "township"], name="dropout_status_township_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id_number}）"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def stage(self) -> str:
        if not self.is_open:
            return self.Stage.CLOSED
        watching = getattr(self, "watching", None)
        if watching is None:
            watching = self.watches.filter(status=ReturnWatch.Status.WATCHING).exists()
        return self.Stage.WATCHED if watching else self.Stage.FOUND

    def get_stage_display(self) -> str:
        return str(self.Stage(self.stage).label)


class CasePeriodQuerySet(ScopedQuerySet):
    scope_school = "case__school"
    scope_townships = ("case__township",)


@track_changes()
class CasePeriod(models.Model):
    """One stretch of time a case was open: a line of the monthly ledger (台账), closed by 销号.

    A reopened case gets a new period, so the ledger counts it again as new in the month it was reopened and
    the months in between see it closed.
    """

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="periods")
    opened_on = models.DateField(_("opened on"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=DropoutCase.Outcome.choices, blank=True)
    reopen_reason = models.CharField(_("reason for reopening"), max_length=300, blank=True)
    # A reopening dated more than BACKDATE_LIMIT_DAYS ago, entered by a school or township, says why it is late.
    late_reason = models.CharField(_("why the reopening is recorded late"), max_length=300, blank=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CasePeriodQuerySet.as_manager()

    class Meta:
        verbose_name = _("case period")
        verbose_name_plural = _("case periods")
        ordering = ["case_id", "opened_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(closed_on__isnull=True), name="one_open_period"
            ),
            models.CheckConstraint(
                name="period_closes_after_opening",
                condition=Q(closed_on__isnull=True) | Q(closed_on__gte=models.F("opened_on")),
            ),
        ]
        indexes = [
            # Monthly ledger: periods overlapping a month.
            models.Index(fields=["opened_on", "closed_on"], name="period_dates_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.opened_on} – {self.closed_on or ''}"


class TeamMemberQuerySet(ScopedQuerySet):
    scope_school = "case__school"
    scope_townships = ("case__township",)


@track_changes()
class TeamMember(models.Model):
    """The responsibility team of a case, Ningdu's 六对一: six named people, each with a phone."""

    class Role(models.TextChoices):
        TOWNSHIP_LEADER = "township_leader", _("Township leader")
        TOWNSHIP_CADRE = "township_cadre", _("Township cadre")
        VILLAGE_CADRE = "village_cadre", _("Village cadre")
        BUREAU_LEADER = "bureau_leader", _("Bureau leader")
        SCHOOL_LEADER = "school_leader", _("School leader")
        TEACHER = "teacher", _("Teacher")

    # The township head and the principal are first responsible (双负责制).
    FIRST_RESPONSIBLE = (Role.TOWNSHIP_LEADER, Role.SCHOOL_LEADER)

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="team")
    role = models.CharField(pgettext_lazy("team member", "role"), max_length=20, choices=Role.choices)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, validators=[phone_validator])

    objects = TeamMemberQuerySet.as_manager()

    class Meta:
        verbose_name = _("team member")
        verbose_name_plural = _("team members")
        constraints = [models.UniqueConstraint(fields=["case", "role"], name="one_team_member_per_role")]

    def __str__(self) -> str:
        return f"{self.get_role_display()} {self.name}"

    @property
    def is_first_responsible(self) -> bool:
        return self.role in self.FIRST_RESPONSIBLE


class VisitQuerySet(ScopedQuerySet):
    scope_school = "case__school"
    scope_townships = ("case__township",)


@track_changes()
class PersuasionVisit(models.Model):
    """A persuasion visit (劝返) to the family."""

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="visits")
    visited_on = models.DateField(_("visit date"))
    visitors = models.CharField(_("who went"), max_length=200)
    result = models.TextField(_("what happened"))
    next_step = models.CharField(_("next step"), max_length=300, blank=True)
    next_on = models.DateField(_("next step date"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("persuasion visit")
        verbose_name_plural = _("persuasion visits")
        ordering = ["-visited_on", "-pk"]
        indexes = [
            # "No visit in 30 days": the latest visit of each open case.
            models.Index(fields=["case", "visited_on"], name="visit_case_date_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.visitors}"


@track_changes()
class HomeTeachingVisit(models.Model):
    """One visit of home-delivered teaching (送教上门) to a severely disabled child."""

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="home_visits")
    visited_on = models.DateField(_("visit date"))
    teacher = models.CharField(_("teacher"), max_length=50)
    hours = models.DecimalField(
        _("hours"), max_digits=4, decimal_places=1, validators=[MinValueValidator(Decimal("0.5"))]
    )
    content = models.TextField(_("content taught"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        verbose_name = _("home-teaching visit")
        verbose_name_plural = _("home-teaching visits")
        ordering = ["-visited_on", "-pk"]
        constraints = [models.CheckConstraint(name="home_visit_hours_positive", condition=Q(hours__gt=0))]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.teacher} {self.hours}h"


class UploadQuerySet(ScopedQuerySet):
    """Bureau staff and officials only: the household register lists the whole county's children."""


@track_changes()
class HouseholdRegisterUpload(models.Model):
    """A household-registration list (户籍) of the county's compulsory-age children, from public security."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        CHECKING = "checking", _("Checking rows")
        COMPARING = "comparing", _("Comparing")
        DONE = "done", _("Compared")
        REJECTED = "rejected", _("Refused: nothing was compared")
        FAILED = "failed", _("Failed: nothing was compared")

    FINISHED = (Status.DONE, Status.REJECTED, Status.FAILED)

    file_name = models.CharField(_("file"), max_length=200)
    # Kept only while the comparison runs as a task; deleted when it ends.
    file = models.FileField(upload_to="register/%Y/%m/", blank=True)
    as_of = models.DateField(_("as of"), help_text=_("Ages are counted on this date."))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DONE)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    message = models.TextField(_("result"), blank=True)
    # Rows stored but not fully understood (an unknown township): [{"row": 7, "message": "..."}].
    problems = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(_("rows"), default=0)
    of_age_count = models.PositiveIntegerField(_("school-age children"), default=0)
    suspect_count = models.PositiveIntegerField(_("new suspected dropouts"), default=0)
    kept_count = models.PositiveIntegerField(_("earlier suspects and decisions kept"), default=0)
    seconds = models.FloatField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = UploadQuerySet.as_manager()

    class Meta:
        verbose_name = _("household-register upload")
        verbose_name_plural = _("household-register uploads")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.as_of})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return min(100, int(self.processed_rows * 100 / self.total_rows))


class RegisterRowQuerySet(ScopedQuerySet):
    scope_townships = ("township",)


class HouseholdRegisterRow(id_numbers.MaskedIdNumberMixin, models.Model):
    """One child of the list, with what the comparison found: the school-age children ledger (适龄儿童)."""

    class Finding(models.TextChoices):
        ENROLLED = "enrolled", pgettext_lazy("register finding", "Enrolled")
        LONG_ABSENCE = "long_absence", _("Enrolled but long absent")
        NOT_ENROLLED = "not_enrolled", _("In no school's roll")
        OPEN_CASE = "open_case", _("Open dropout case")
        PLACED = "placed", _("Placed (closed case)")
        CLEARED = "cleared", _("Cleared earlier")
        OUT_OF_COUNTY = "out_of_county", _("In the out-of-county ledger")
        NOT_OF_AGE = "not_of_age", _("Not of compulsory age")

    upload = models.ForeignKey(HouseholdRegisterUpload, on_delete=models.CASCADE, related_name="rows")
    id_number = models.CharField(_("ID number"), max_length=18)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    township = models.ForeignKey(
        "students.Township", verbose_name=_("township"), null=True, on_delete=models.PROTECT, related_name="+"
    )
    village = models.CharField(_("village"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"))
    is_poverty_family = models.BooleanField(_("poverty-alleviated household"), default=False)
    finding = models.CharField(_("finding"), max_length=16, choices=Finding.choices)
    # Why the finding: the decision kept, the out-of-county ledger line and its letter.
    note = models.CharField(_("note"), max_length=300, blank=True)
    student = models.ForeignKey(
        "students.Student", verbose_name=_("student"), null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = RegisterRowQuerySet.as_manager()

    class Meta:
        verbose_name = _("household-register row")
        verbose_name_plural = _("household-register rows")
        ordering = ["upload_id", "township_id", "village", "name"]
        constraints = [models.UniqueConstraint(fields=["upload", "id_number"], name="register_row_once")]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id_number}）"


class SuspectQuerySet(ScopedQuerySet):
    scope_townships = ("township",)

    def pending(self):
        return self.filter(status=SuspectedDropout.Status.PENDING)


@track_changes()
class SuspectedDropout(id_numbers.MaskedIdNumberMixin, models.Model):
    """A child of age registered in the county and in no school's roll (疑似辍学): confirmed or cleared."""

    class Status(models.TextChoices):
        PENDING = "pending", _("To check")
        CONFIRMED = "confirmed", _("Confirmed as a dropout")
        CLEARED = "cleared", _("Cleared")

    class ClearReason(models.TextChoices):
        STUDIES_OUTSIDE = "studies_outside", _("Studies outside the county")
        ALREADY_PLACED = "already_placed", _("Already placed")
        MOVED_AWAY = "moved_away", _("Moved away")
        # Given by the registry, not by a clerk: a child now on a school's roll (resolved each night).
        ENROLLED = "enrolled", _("Enrolled since (student registry)")

        @classmethod
        def given_by_clerks(cls) -> list[tuple[str, str]]:
            return [(value, label) for value, label in cls.choices if value != cls.ENROLLED]

    row = models.OneToOneField(HouseholdRegisterRow, on_delete=models.CASCADE, related_name="suspect")
    id_number = models.CharField(_("ID number"), max_length=18)
    name = models.CharField(pgettext_lazy("person", "name"), max_length=50)
    township = models.ForeignKey(
        "students.Township",
        verbose_name=_("township"),
        null=True,
        blank=True,  # a township the county does not know: the list's row is kept without one
        on_delete=models.PROTECT,
        related_name="+",
    )
    village = models.CharField(_("village"), max_length=100, blank=True)
    birth_date = models.DateField(_("birth date"))
    is_poverty_family = models.BooleanField(_("poverty-alleviated household"), default=False)
    long_absent_student = models.ForeignKey(
        "students.Student",
        verbose_name=_("long-absent student"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    clear_reason = models.CharField(
        _("reason cleared"), max_length=20, choices=ClearReason.choices, blank=True
    )
    note = models.CharField(_("note"), max_length=300, blank=True)
    case = models.ForeignKey(
        DropoutCase,
        verbose_name=_("case"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_on = models.DateField(_("decided on"), null=True, blank=True)
    # The latest list that named the child again (a pending suspect is carried, not repeated).
    last_seen = models.ForeignKey(
        HouseholdRegisterUpload,
        verbose_name=_("last listed in"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = SuspectQuerySet.as_manager()

    class Meta:
        verbose_name = _("suspected dropout")
        verbose_name_plural = _("suspected dropouts")
        ordering = ["township_id", "village", "name"]
        constraints = [
            models.CheckConstraint(
                name="cleared_suspect_has_reason",
                condition=~Q(status="cleared") | ~Q(clear_reason=""),
            ),
            # The same child listed by two uploads is one suspect to check, not two.
            models.UniqueConstraint(
                fields=["id_number"], condition=Q(status="pending"), name="one_pending_suspect_per_child"
            ),
        ]
        indexes = [
            # The comparison looks up each child's latest decision.
            models.Index(fields=["id_number", "decided_on"], name="suspect_number_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.masked_id_number}）"


class LongAbsenceQuerySet(ScopedQuerySet):
    scope_school = "student__school"
    scope_townships = ("student__school__township", "student__home_township")

    def current(self):
        return self.filter(ended_on__isnull=True)


@track_changes()
class LongAbsence(models.Model):
    """A pupil on the roll who has stopped coming: the school marks it, the comparison lists the child."""

    student = models.ForeignKey(
        "students.Student", verbose_name=_("student"), on_delete=models.CASCADE, related_name="long_absences"
    )
    since = models.DateField(_("absent since"))
    ended_on = models.DateField(_("back on"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LongAbsenceQuerySet.as_manager()

    class Meta:
        verbose_name = _("long absence")
        verbose_name_plural = _("long absences")
        ordering = ["-since"]
        constraints = [
            models.UniqueConstraint(
                fields=["student"], condition=Q(ended_on__isnull=True), name="one_current_absence"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.student_id} {self.since}"


class CareRecordQuerySet(ScopedQuerySet):
    scope_school = "student__school"
    scope_townships = ("student__school__township", "student__home_township")


@track_changes()
class CareRecord(models.Model):
    """A teacher's visit to a left-behind or disadvantaged child (万师访万家)."""

    class Kind(models.TextChoices):
        HOME_VISIT = "home_visit", _("Home visit")
        TALK = "talk", _("Talk at school")
        PHONE = "phone", _("Call with the guardian")
        HELP = "help", _("Material help")

    student = models.ForeignKey(
        "students.Student", verbose_name=_("student"), on_delete=models.CASCADE, related_name="care_records"
    )
    visited_on = models.DateField(_("date"))
    teacher = models.CharField(_("teacher"), max_length=50)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.HOME_VISIT)
    content = models.TextField(_("what was done"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = CareRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("care record")
        verbose_name_plural = _("care records")
        ordering = ["-visited_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.visited_on} {self.teacher}"


class WatchPolicyQuerySet(ScopedQuerySet):
    scope_county_wide = True


@track_changes()
class WatchPolicy(models.Model):
    """How long the county watches a child after the return (复学观察期); one row, set by the bureau.

    A watch keeps the length it started with: changing the policy does not move running watches.
    """

    DEFAULT_MONTHS = 5  # a term

    watch_months = models.PositiveSmallIntegerField(
        _("watch period after a return (months)"),
        default=DEFAULT_MONTHS,
        validators=[MinValueValidator(1)],
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = WatchPolicyQuerySet.as_manager()

    class Meta:
        verbose_name = _("watch policy")
        verbose_name_plural = _("watch policies")

    def __str__(self) -> str:
        return f"{self.watch_months}"

    @classmethod
    def current_months(cls) -> int:
        policy = cls.objects.order_by("pk").first()
        return policy.watch_months if policy else cls.DEFAULT_MONTHS


class ReturnWatchQuerySet(ScopedQuerySet):
    scope_school = "case__school"
    scope_townships = ("case__township",)

    def watching(self):
        return self.filter(status=ReturnWatch.Status.WATCHING)


@track_changes()
class ReturnWatch(models.Model):
    """The months after a child returned to school (劝返复学): the school confirms attendance each month.

    A missed confirmation, a month not attended or a new long absence raises the case again (the same case,
    never a new one); a watch that ran its months lets the case be closed as returned.
    """

    class Status(models.TextChoices):
        WATCHING = "watching", _("Watching")
        COMPLETED = "completed", _("Completed")
        RAISED = "raised", _("Raised again")

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="watches")
    student = models.ForeignKey(
        "students.Student", verbose_name=_("student"), on_delete=models.PROTECT, related_name="+"
    )
    school = models.ForeignKey(
        "students.School", verbose_name=_("school returned to"), on_delete=models.PROTECT, related_name="+"
    )
    returned_on = models.DateField(_("returned on"))
    late_reason = models.CharField(
        _("why the return is recorded late"),
        max_length=300,
        blank=True,
        help_text=_("Needed when the return is more than 30 days ago."),
    )
    watch_until = models.DateField(_("watched until"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.WATCHING)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    end_reason = models.CharField(_("why it ended"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReturnWatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("watch after return")
        verbose_name_plural = _("watches after return")
        ordering = ["-returned_on", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="watching"), name="one_running_watch_per_case"
            ),
            models.CheckConstraint(
                name="watch_ends_after_return", condition=Q(watch_until__gt=models.F("returned_on"))
            ),
        ]
        indexes = [
            # The nightly check walks the running watches.
            models.Index(fields=["status", "watch_until"], name="watch_status_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id}: {self.returned_on} – {self.watch_until}"

    @property
    def is_watching(self) -> bool:
        return self.status == self.Status.WATCHING


class WatchConfirmationQuerySet(ScopedQuerySet):
    scope_school = "watch__case__school"
    scope_townships = ("watch__case__township",)


@track_changes()
class WatchConfirmation(models.Model):
    """The school's monthly word on a returned child: in class this month, or not."""

    watch = models.ForeignKey(ReturnWatch, on_delete=models.CASCADE, related_name="confirmations")
    month = models.DateField(_("month"), help_text=_("The first day of the month confirmed."))
    attended = models.BooleanField(_("attended"), default=True)
    note = models.CharField(_("note"), max_length=300, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    confirmed_at = models.DateTimeField(auto_now_add=True)

    objects = WatchConfirmationQuerySet.as_manager()

    class Meta:
        verbose_name = _("monthly confirmation")
        verbose_name_plural = _("monthly confirmations")
        ordering = ["watch_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["watch", "month"], name="one_confirmation_a_month"),
            models.CheckConstraint(name="confirmation_month_first_day", condition=Q(month__day=1)),
        ]

    def __str__(self) -> str:
        return f"{self.watch_id} {self.month:%Y-%m}"


class ClosingRequestQuerySet(ScopedQuerySet):
    scope_school = "case__school"
    scope_townships = ("case__township",)

    def pending(self):
        return self.filter(status=ClosingRequest.Status.PENDING)


@track_changes()
class ClosingRequest(models.Model):
    """销号: the township or the school asks, with the proof, and the bureau confirms (or sends it back)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting the bureau")
        CONFIRMED = "confirmed", _("Confirmed")
        REJECTED = "rejected", _("Sent back")

    case = models.ForeignKey(DropoutCase, on_delete=models.CASCADE, related_name="closing_requests")
    outcome = models.CharField(_("outcome"), max_length=20, choices=DropoutCase.Outcome.choices)
    on = models.DateField(_("outcome date"))
    outcome_school = models.ForeignKey(
        "students.School",
        verbose_name=_("school attended"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    outcome_note = models.CharField(_("outcome note"), max_length=500, blank=True)
    home_teacher = models.CharField(_("home-teaching teacher"), max_length=50, blank=True)
    home_schedule = models.CharField(_("home-teaching schedule"), max_length=200, blank=True)
    home_visits_per_month = models.PositiveSmallIntegerField(
        _("home-teaching visits a month"), null=True, blank=True
    )
    home_hours_per_term = models.DecimalField(
        _("home-teaching hours a term (plan)"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    committee_decided_on = models.DateField(_("committee decision date"), null=True, blank=True)
    committee_decision = models.CharField(_("committee decision"), max_length=300, blank=True)
    committee_document = models.CharField(_("committee document"), max_length=100, blank=True)
    proof = models.CharField(
        _("proof"),
        max_length=300,
        help_text=_("The paper that proves the outcome: the return certificate, the placement letter."),
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(_("bureau's note"), max_length=300, blank=True)

    objects = ClosingRequestQuerySet.as_manager()

    class Meta:
        verbose_name = _("closing request")
        verbose_name_plural = _("closing requests")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="one_pending_closing_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_outcome_display()} ({self.get_status_display()})"


class ZeroReportQuerySet(ScopedQuerySet):
    scope_school = "school"
    scope_townships = ("township", "school__township")

    def standing(self):
        """Reports not withdrawn by a case recorded afterwards."""
        return self.filter(withdrawn_at__isnull=True)


@track_changes()
class ZeroReport(models.Model):
    """零报告: a school (or a township) with no dropout case confirms "无辍学" for a month."""

    month = models.DateField(_("month"), help_text=_("The first day of the month reported."))
    school = models.ForeignKey(
        "students.School",
        verbose_name=_("school"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dropout_zero_reports",
    )
    township = models.ForeignKey(
        "students.Township",
        verbose_name=_("township"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dropout_zero_reports",
    )
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reported_at = models.DateTimeField(auto_now_add=True)
    # A case recorded afterwards as open in the month (at this school, or of this township) contradicts the
    # report: it is withdrawn, kept with the reason (its history shows when).
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("why withdrawn"), max_length=300, blank=True)
    withdrawn_case = models.ForeignKey(
        DropoutCase,
        verbose_name=_("case that withdrew it"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    objects = ZeroReportQuerySet.as_manager()

    class Meta:
        verbose_name = _("zero report")
        verbose_name_plural = _("zero reports")
        ordering = ["-month", "township_id", "school_id"]
        constraints = [
            models.CheckConstraint(
                name="zero_report_school_or_township",
                condition=Q(school__isnull=True, township__isnull=False)
                | Q(school__isnull=False, township__isnull=True),
            ),
            models.CheckConstraint(name="zero_report_month_first_day", condition=Q(month__day=1)),
            # One standing report a month and place: a withdrawn one leaves the place free to report again.
            models.UniqueConstraint(
                fields=["month", "school"],
                condition=Q(school__isnull=False, withdrawn_at__isnull=True),
                name="one_zero_report_a_school",
            ),
            models.UniqueConstraint(
                fields=["month", "township"],
                condition=Q(township__isnull=False, withdrawn_at__isnull=True),
                name="one_zero_report_a_township",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.school or self.township}"
