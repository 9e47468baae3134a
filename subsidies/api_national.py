"""REST API of the national student-aid system's files under /api/subsidies/national-aid/ (bureau staff):
the term's report in its columns, and reconciling its export with what the portal paid."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from portal.access import is_bureau_staff
from portal.api import WRITE_ERRORS, call_service
from portal.audit import log_access
from portal.excel import XLSX_CONTENT_TYPE, workbook_response
from portal.models import AccessLog
from students.models import SCHOOL_YEAR_VALIDATORS, Student
from subsidies import national_aid
from subsidies.models import Payment, Term

COLUMNS_HELP = (
    "Sheet 资助发放 with the columns "
    + ", ".join(national_aid.PAYMENT_COLUMNS.values())
    + "; optional sheet 困难学生 with "
    + ", ".join(national_aid.STUDENT_COLUMNS.values())
    + "."
)


class ExportParamsSerializer(serializers.Serializer):
    school_year = serializers.IntegerField(validators=SCHOOL_YEAR_VALIDATORS, help_text="2022 for 2022-2023.")
    term = serializers.ChoiceField(choices=Term.choices)


class ReconcileRequestSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="The national aid system's export (.xlsx). " + COLUMNS_HELP)


class NationalDifferenceSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(national_aid.KINDS.items()))
    kind_display = serializers.CharField()
    id_number_masked = serializers.CharField(source="masked_id_number")
    name = serializers.CharField()
    aid = serializers.CharField(help_text="The aid's name; empty for an identification difference.")
    term = serializers.CharField(help_text="The term, or the school year of an identification difference.")
    reported = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    paid = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class NationalReconciliationSerializer(serializers.Serializer):
    terms = serializers.ListField(child=serializers.CharField())
    reported = serializers.IntegerField(help_text="Payments (child, aid, term) in the file.")
    paid = serializers.IntegerField(help_text="Payments the portal paid in those terms.")
    matched = serializers.IntegerField()
    differences = NationalDifferenceSerializer(many=True)


class NationalAidViewSet(viewsets.ViewSet):
    """The 全国学生资助管理信息系统's files: `export/` (the term's report) and `reconcile/` (its export against
    what the portal paid; nothing is written). Bureau staff only."""

    write_allowed = staticmethod(is_bureau_staff)

    def _check(self, request):
        if not is_bureau_staff(request.user):
            raise PermissionDenied()

    @extend_schema(
        parameters=[ExportParamsSerializer],
        responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY, **WRITE_ERRORS},
        description="The identified students of the school year (sheet 困难学生) and the term's paid payments "
        "(sheet 资助发放) in the national system's columns, whole ID numbers (logged as an export).",
    )
    @action(detail=False, methods=["get"])
    def export(self, request):
        self._check(request)
        params = ExportParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        year, term = params.validated_data["school_year"], params.validated_data["term"]
        wb = national_aid.export_workbook(
            school_year=year,
            term=term,
            payments=Payment.objects.visible_to(request.user),
            students=Student.objects.visible_to(request.user),
        )
        log_access(request, AccessLog.Action.EXPORT, detail=f"national aid system report {year} {term}")
        return workbook_response(wb, f"全国资助系统_{year}_{term}.xlsx")

    def _reconcile(self, request):
        self._check(request)
        params = ReconcileRequestSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return call_service(
            national_aid.reconcile,
            upload=params.validated_data["file"],
            payments=Payment.objects.visible_to(request.user),
            students=Student.objects.visible_to(request.user),
        )

    @extend_schema(
        request={"multipart/form-data": ReconcileRequestSerializer},
        responses={200: NationalReconciliationSerializer, **WRITE_ERRORS},
        description="Reads the national system's export and lists every difference with the portal's paid "
        "payments of the same terms (and identified students, if the sheet 困难学生 is given). A header "
        "that is not the template's is refused (400) with the missing and unknown columns named; a file larger "
        "than the import limit of every upload (IMPORT_MAX_BYTES) is refused (400) unread.",
    )
    @action(detail=False, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def reconcile(self, request):
        return Response(NationalReconciliationSerializer(self._reconcile(request)).data)

    @extend_schema(
        request={"multipart/form-data": ReconcileRequestSerializer},
        responses={(200, XLSX_CONTENT_TYPE): OpenApiTypes.BINARY, **WRITE_ERRORS},
        description="The differences of `reconcile/` as .xlsx (ID numbers masked).",
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="reconcile-xlsx",
        parser_classes=[MultiPartParser, FormParser],
    )
    def reconcile_xlsx(self, request):
        result = self._reconcile(request)
        return workbook_response(
            national_aid.differences_workbook(result, full_ids=False), "资助系统核对差异.xlsx"
        )
