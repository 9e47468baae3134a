"""REST API of the nutrition plan under /api/nutrition/. Reads are scoped by portal.access; every write goes
through nutrition.services, so the API refuses exactly what the browser pages refuse, with the same messages.
"""

from __future__ import annotations

from datetime import date

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from nutrition import filters, importing, rules, services
from nutrition.models import (
    AccompaniedMeal,
    FundReceipt,
    MealImport,
    MealRecord,
    NutritionTerm,
    PilotSchool,
    Purchase,
    SafetyCheck,
    TermHoliday,
)
from nutrition.selectors import county_figures
from portal.access import can_record_nutrition, is_bureau_staff
from portal.api import call_service
from portal.params import query_int, query_year

# --- Serializers ----------------------------------------------------------------------------------


class TermSerializer(serializers.ModelSerializer):
    holidays = serializers.SlugRelatedField(many=True, read_only=True, slug_field="day")
    label = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = NutritionTerm
        fields = ["id", "label", "school_year", "season", "start", "end", "is_closed", "holidays"]
        read_only_fields = ["is_closed"]
        validators: list = []


class HolidaySerializer(serializers.ModelSerializer):
    class Meta:
        model = TermHoliday
        fields = ["id", "term", "day", "reason"]
        validators: list = []


class PilotSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="school.name", read_only=True)
    school_type = serializers.CharField(source="school.school_type", read_only=True)
    township_name = serializers.CharField(source="school.township.name", read_only=True)
    received = serializers.SerializerMethodField()
    entitled = serializers.SerializerMethodField()
    spent = serializers.SerializerMethodField()
    forbidden = serializers.SerializerMethodField()
    flags = serializers.SerializerMethodField()

    class Meta:
        model = PilotSchool
        fields = [
            "id",
            "term",
            "school",
            "school_name",
            "school_type",
            "township_name",
            "supply_mode",
            "daily_standard",
            "preschool_plan",
            "preschool_yearly_standard",
            "planned_days",
            "covered_preschool",
            "covered_primary",
            "covered_junior",
            "covered_counted_on",
            "received",
            "entitled",
            "spent",
            "forbidden",
            "flags",
        ]
        read_only_fields = ["covered_preschool", "covered_primary", "covered_junior", "covered_counted_on"]
        validators: list = []

    def _reconciliation(self, obj) -> rules.Reconciliation:
        if not hasattr(obj, "_reconciliation"):
            obj._reconciliation = rules.reconcile(obj)
        return obj._reconciliation

    def get_received(self, obj) -> str:
        return str(self._reconciliation(obj).received)

    def get_entitled(self, obj) -> str:
        return str(self._reconciliation(obj).entitled)

    def get_spent(self, obj) -> str:
        return str(self._reconciliation(obj).spent)

    def get_forbidden(self, obj) -> str:
        return str(self._reconciliation(obj).forbidden)

    def get_flags(self, obj) -> list[str]:
        return self._reconciliation(obj).flags


class PilotRowSerializer(serializers.ModelSerializer):
    school_name = serializers.CharField(source="pilot.school.name", read_only=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and "pilot" in self.fields and not self.fields["pilot"].read_only:
            self.fields["pilot"].queryset = PilotSchool.objects.editable_by(request.user).select_related(
                "term"
            )


class MealSerializer(PilotRowSerializer):
    class Meta:
        model = MealRecord
        fields = ["id", "pilot", "school_name", "day", "stage", "meals", "updated_at"]
        read_only_fields = ["updated_at"]
        validators: list = []


class MealUpdateSerializer(MealSerializer):
    class Meta(MealSerializer.Meta):
        read_only_fields = ["pilot", "day", "stage", "updated_at"]


class ReceiptSerializer(PilotRowSerializer):
    class Meta:
        model = FundReceipt
        fields = ["id", "pilot", "school_name", "received_on", "amount", "document"]


class PurchaseSerializer(PilotRowSerializer):
    diversion = serializers.SerializerMethodField()

    class Meta:
        model = Purchase
        fields = [
            "id",
            "pilot",
            "school_name",
            "purchased_on",
            "supplier",
            "category",
            "amount",
            "note",
            "diversion",
        ]

    def get_diversion(self, obj) -> bool:
        return obj.category in Purchase.FORBIDDEN_CATEGORIES


class AccompaniedSerializer(PilotRowSerializer):
    class Meta:
        model = AccompaniedMeal
        fields = ["id", "pilot", "school_name", "day", "person", "remark"]
        validators: list = []


class SafetyCheckSerializer(PilotRowSerializer):
    class Meta:
        model = SafetyCheck
        fields = [
            "id",
            "pilot",
            "school_name",
            "kind",
            "day",
            "checked_by",
            "supplier",
            "items",
            "passed",
            "follow_up",
        ]
        validators: list = []


class FollowUpSerializer(serializers.Serializer):
    follow_up = serializers.CharField()


class MealImportSerializer(serializers.Serializer):
    term = serializers.PrimaryKeyRelatedField(queryset=NutritionTerm.objects.all())
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="YYYY-MM")
    file = serializers.FileField()


class MealImportJobSerializer(serializers.ModelSerializer):
    """A month-of-meals import: poll /api/nutrition/meal-imports/<id>/ until `finished`."""

    progress = serializers.IntegerField(source="progress_percent", read_only=True)
    finished = serializers.BooleanField(source="is_finished", read_only=True)
    errors = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = MealImport
        fields = [
            "id",
            "term",
            "month",
            "file_name",
            "status",
            "finished",
            "total_rows",
            "processed_rows",
            "progress",
            "imported",
            "errors",
            "message",
            "seconds",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields


class FiguresSerializer(serializers.Serializer):
    term = serializers.CharField()
    pilot_schools = serializers.IntegerField()
    pilot_schools_primary = serializers.IntegerField()
    pilot_schools_junior = serializers.IntegerField()
    pilot_schools_preschool = serializers.IntegerField()
    pupils = serializers.IntegerField()
    pupils_primary = serializers.IntegerField()
    pupils_junior = serializers.IntegerField()
    pupils_preschool = serializers.IntegerField()
    canteen_schools = serializers.IntegerField()
    canteen_pupils = serializers.IntegerField()
    canteen_school_share = serializers.DecimalField(max_digits=5, decimal_places=1)
    canteen_pupil_share = serializers.DecimalField(max_digits=5, decimal_places=1)
    mixed_schools = serializers.IntegerField()
    catered_schools = serializers.IntegerField()
    meals_compulsory = serializers.IntegerField()
    meals_preschool = serializers.IntegerField()
    funds_received = serializers.DecimalField(max_digits=16, decimal_places=2)
    funds_used = serializers.DecimalField(max_digits=16, decimal_places=2)
    funds_used_wan = serializers.DecimalField(max_digits=16, decimal_places=6)
    funds_diverted = serializers.DecimalField(max_digits=16, decimal_places=2)


# --- Views ----------------------------------------------------------------------------------------


class TermViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = TermSerializer
    write_allowed = staticmethod(is_bureau_staff)
    filterset_fields = ["school_year", "season", "is_closed"]

    def get_queryset(self):
        return NutritionTerm.objects.visible_to(self.request.user).prefetch_related("holidays")

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.term_create, by=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=None, responses=TermSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        term = call_service(services.term_close, term=self.get_object(), by=request.user)
        return Response(TermSerializer(term, context={"request": request}).data)


class HolidayViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = HolidaySerializer
    write_allowed = staticmethod(is_bureau_staff)
    filterset_fields = ["term"]

    def get_queryset(self):
        return TermHoliday.objects.visible_to(self.request.user).order_by("day")

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.holiday_add, by=self.request.user, **serializer.validated_data
        )


class PilotViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    serializer_class = PilotSerializer
    filterset_class = filters.PilotFilter
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return (
            PilotSchool.objects.visible_to(self.request.user)
            .select_related("school__township", "term")
            .with_totals()
            .order_by("pk")
        )

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.pilot_enrol, by=self.request.user, **serializer.validated_data
        )

    @extend_schema(request=None, responses=PilotSerializer)
    @action(detail=True, methods=["post"], url_path="refresh-coverage")
    def refresh_coverage(self, request, pk=None):
        pilot = call_service(services.pilot_refresh_coverage, pilot=self.get_object(), by=request.user)
        return Response(
            PilotSerializer(self.get_queryset().get(pk=pilot.pk), context={"request": request}).data
        )

    @extend_schema(
        responses=inline_serializer(
            "NutritionReconciliation",
            {
                "schools": serializers.IntegerField(),
                "received": serializers.DecimalField(max_digits=16, decimal_places=2),
                "entitled": serializers.DecimalField(max_digits=16, decimal_places=2),
                "spent": serializers.DecimalField(max_digits=16, decimal_places=2),
                "forbidden": serializers.DecimalField(max_digits=16, decimal_places=2),
                "flags": serializers.ListField(child=serializers.CharField()),
                "overspend_schools": serializers.IntegerField(),
                "underspend_schools": serializers.IntegerField(),
                "diversion_schools": serializers.IntegerField(),
                "short_funded_schools": serializers.IntegerField(),
            },
        )
    )
    @action(detail=False, methods=["get"])
    def reconciliation(self, request):
        """Received vs entitled vs spent over the pilots matching the filters (e.g. ?term=)."""
        total = rules.reconcile_all(self.filter_queryset(self.get_queryset()))
        return Response(
            {
                "schools": total.schools,
                "received": str(total.received),
                "entitled": str(total.entitled),
                "spent": str(total.spent),
                "forbidden": str(total.forbidden),
                "flags": total.flags,
                "overspend_schools": total.overspend_schools,
                "underspend_schools": total.underspend_schools,
                "diversion_schools": total.diversion_schools,
                "short_funded_schools": total.short_funded_schools,
            }
        )


class PilotRowViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Rows recorded by a pilot school. Subclasses name the model and the service that creates a row."""

    model: type
    service = None
    write_allowed = staticmethod(can_record_nutrition)

    def get_queryset(self):
        return self.model.objects.visible_to(self.request.user).select_related("pilot__school")

    def perform_create(self, serializer):
        serializer.instance = call_service(
            type(self).service, by=self.request.user, **serializer.validated_data
        )


class MealViewSet(mixins.UpdateModelMixin, PilotRowViewSet):
    model = MealRecord
    service = services.meal_record
    filterset_class = filters.MealFilter
    ordering_fields = ["day", "meals"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return MealUpdateSerializer
        return MealSerializer

    def get_queryset(self):
        if self.action in ("update", "partial_update"):
            return MealRecord.objects.editable_by(self.request.user).select_related(
                "pilot__school", "pilot__term"
            )
        return super().get_queryset().order_by("-day", "pilot_id", "stage")

    def perform_update(self, serializer):
        record = serializer.instance
        serializer.instance = call_service(
            services.meal_record,
            pilot=record.pilot,
            day=record.day,
            stage=record.stage,
            meals=serializer.validated_data.get("meals", record.meals),
            by=self.request.user,
        )

    @extend_schema(
        request={"multipart/form-data": MealImportSerializer},
        responses={201: MealImportJobSerializer, 202: MealImportJobSerializer, 400: MealImportJobSerializer},
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_month(self, request):
        """A month of meal records from Excel (学校代码 | 日期 | 学段 | 就餐人数); one bad row refuses the file.
        Returns the import job: 201 when it ran (a small file), 202 while a Celery task runs it (poll
        /api/nutrition/meal-imports/<id>/), 400 when the file was refused (`errors`: every bad row)."""
        form = MealImportSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        year, month = map(int, form.validated_data["month"].split("-"))
        if not 1 <= month <= 12:
            raise ValidationError({"month": _("The month must be written as 2022-10.")})
        job = call_service(
            importing.meal_import_start,
            file=form.validated_data["file"],
            term=form.validated_data["term"],
            month=date(year, month, 1),
            by=request.user,
        )
        if job.status == MealImport.Status.REJECTED:
            code = status.HTTP_400_BAD_REQUEST
        else:
            code = status.HTTP_201_CREATED if job.is_finished else status.HTTP_202_ACCEPTED
        return Response(MealImportJobSerializer(job, context={"request": request}).data, status=code)


class MealImportViewSet(viewsets.ReadOnlyModelViewSet):
    """Month-of-meals imports: the bureau's and officials' all, a principal's or township officer's own."""

    serializer_class = MealImportJobSerializer

    def get_queryset(self):
        return MealImport.objects.visible_to(self.request.user).order_by("-created_at")


class ReceiptViewSet(PilotRowViewSet):
    model = FundReceipt
    service = services.receipt_add
    serializer_class = ReceiptSerializer
    filterset_class = filters.ReceiptFilter
    write_allowed = staticmethod(is_bureau_staff)


class PurchaseViewSet(PilotRowViewSet):
    model = Purchase
    service = services.purchase_add
    serializer_class = PurchaseSerializer
    filterset_class = filters.PurchaseFilter
    ordering_fields = ["purchased_on", "amount"]


class AccompaniedViewSet(PilotRowViewSet):
    model = AccompaniedMeal
    service = services.accompanied_add
    serializer_class = AccompaniedSerializer
    filterset_class = filters.AccompaniedFilter


class SafetyCheckViewSet(PilotRowViewSet):
    model = SafetyCheck
    service = services.safety_check_add
    serializer_class = SafetyCheckSerializer
    filterset_class = filters.SafetyCheckFilter

    @extend_schema(request=FollowUpSerializer, responses=SafetyCheckSerializer)
    @action(detail=True, methods=["post"], url_path="follow-up")
    def follow_up(self, request, pk=None):
        check = get_object_or_404(
            SafetyCheck.objects.editable_by(request.user).select_related("pilot__term"), pk=pk
        )
        form = FollowUpSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        check = call_service(
            services.safety_follow_up,
            check=check,
            follow_up=form.validated_data["follow_up"],
            by=request.user,
        )
        return Response(SafetyCheckSerializer(check, context={"request": request}).data)


class FiguresViewSet(viewsets.ViewSet):
    """County figures for the year-end report, over the pilots the user may see."""

    @extend_schema(
        parameters=[
            OpenApiParameter("term", int, description="Term id"),
            OpenApiParameter(
                "year", int, description="Calendar year (its autumn term; money by calendar year)"
            ),
        ],
        responses=FiguresSerializer,
    )
    def list(self, request):
        term_id, year = query_int(request.query_params, "term"), query_year(request.query_params)
        if term_id is not None:
            subject = get_object_or_404(NutritionTerm.objects.visible_to(request.user), pk=term_id)
        elif year is not None:
            subject = year
        else:
            raise ValidationError({"detail": _("Give a term (?term=) or a year (?year=).")})
        return Response(FiguresSerializer(county_figures(subject, request.user)).data)
