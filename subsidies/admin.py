from django.contrib import admin

from subsidies.models import (
    AidExclusionGroup,
    AidPolicy,
    AidQuota,
    BankAccount,
    BankFile,
    BankPayrollLayout,
    BankResultFormat,
    CreditLoan,
    DisbursementBatch,
    Identification,
    IdentificationRound,
    LookupLog,
    OutOfCountyStudent,
    Payment,
    SocialAidGrant,
    SocialAidProgramme,
    UniversityAid,
    UniversityStudent,
)


class ScopedAdmin(admin.ModelAdmin):
    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user)


@admin.register(AidPolicy)
class AidPolicyAdmin(ScopedAdmin):
    list_display = ["stage", "aid_type", "tier", "amount", "unit", "payee", "valid_from", "valid_to"]
    list_filter = ["stage", "aid_type"]


@admin.register(AidExclusionGroup)
class AidExclusionGroupAdmin(ScopedAdmin):
    list_display = ["code", "name", "aid_types"]


@admin.register(AidQuota)
class AidQuotaAdmin(ScopedAdmin):
    list_display = ["aid_type", "school_year", "term", "amount"]


@admin.register(DisbursementBatch)
class BatchAdmin(ScopedAdmin):
    list_display = ["aid_type", "school_year", "term", "status", "paid_on"]
    list_filter = ["status", "school_year", "term"]
    # States move forward only, through the services: the admin only reads batches and payments.
    readonly_fields = [
        "aid_type",
        "school_year",
        "term",
        "eligibility_date",
        "status",
        "bank_reference",
        "paid_on",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(Payment)
class PaymentAdmin(ScopedAdmin):
    list_display = ["student", "aid_type", "school_year", "term", "amount", "status"]
    list_filter = ["status", "aid_type", "school_year", "term"]
    list_select_related = ["student"]
    raw_id_fields = ["student", "batch", "school", "policy"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BankAccount)
class BankAccountAdmin(ScopedAdmin):
    list_display = ["student", "holder_name", "bank_name", "masked_number", "is_active"]
    raw_id_fields = ["student"]
    exclude = ["account_number"]


@admin.register(OutOfCountyStudent)
class OutOfCountyAdmin(ScopedAdmin):
    list_display = ["name", "destination_county", "school_year", "follow_up"]


@admin.register(CreditLoan)
class CreditLoanAdmin(ScopedAdmin):
    list_display = ["name", "university", "school_year", "amount", "top_up"]


@admin.register(LookupLog)
class LookupLogAdmin(admin.ModelAdmin):
    list_display = ["at", "client", "id_number_masked", "outcome"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BankResultFormat)
class BankResultFormatAdmin(ScopedAdmin):
    """Each bank's result file: column titles and the exact values (or codes) for paid and failed."""

    list_display = ["name", "status_column", "success_values", "failure_values", "is_default"]


@admin.register(BankPayrollLayout)
class BankPayrollLayoutAdmin(ScopedAdmin):
    """Each bank's 代发 payroll file: columns in order with their titles, and the card format."""

    list_display = ["bank", "card_format", "sheet_title", "is_default"]


@admin.register(BankFile)
class BankFileAdmin(ScopedAdmin):
    """Read only: a bank file is made by the batch page or the API, never by hand."""

    list_display = ["batch", "number", "made_by", "made_at"]
    readonly_fields = ["batch", "number", "made_by", "made_at"]

    def get_queryset(self, request):
        return BankFile.objects.filter(batch__in=DisbursementBatch.objects.visible_to(request.user))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UniversityStudent)
class UniversityStudentAdmin(ScopedAdmin):
    list_display = ["name", "masked_id_number", "university", "enrolment_year", "home_township", "category"]
    list_filter = ["enrolment_year", "category"]
    search_fields = ["name", "university"]
    exclude = ["id_number"]

    def has_add_permission(self, request):
        # Added on the page or through the API (university_student_add checks the roll and the roster).
        return False


class ReadOnlyGrantAdmin(ScopedAdmin):
    """Grants are recorded on the pages or through the API, whose services refuse duplicates and bad amounts."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UniversityAid)
class UniversityAidAdmin(ReadOnlyGrantAdmin):
    list_display = ["student", "kind", "school_year", "amount", "paid_on"]
    list_filter = ["kind", "school_year"]
    list_select_related = ["student"]


@admin.register(SocialAidProgramme)
class SocialAidProgrammeAdmin(ScopedAdmin):
    list_display = ["name", "donor", "target"]
    search_fields = ["name", "donor"]


@admin.register(SocialAidGrant)
class SocialAidGrantAdmin(ReadOnlyGrantAdmin):
    list_display = ["programme", "recipient_name", "school", "township", "amount", "granted_on"]
    list_filter = ["programme"]
    list_select_related = ["programme", "student", "university_student", "school", "township"]


class ReadOnlyIdentificationAdmin(ScopedAdmin):
    """Identification moves step by step through its services (the pages and the API), which refuse what the
    policy forbids: the admin only reads it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Identification)
class IdentificationAdmin(ReadOnlyIdentificationAdmin):
    list_display = ["student", "school", "school_year", "kind", "status", "school_level", "confirmed_level"]
    list_filter = ["school_year", "status", "kind"]
    list_select_related = ["student", "school"]
    exclude = ["hardship_reasons"]


@admin.register(IdentificationRound)
class IdentificationRoundAdmin(ReadOnlyIdentificationAdmin):
    list_display = ["school_year", "publicity_days", "note"]
