"""REST API of needy-student identification (家庭经济困难学生认定, issue 17) under
/api/subsidies/identifications/: each step of a family's identification (application, class review, 公示,
objections, the school's level, the county's confirmation), the one list of a year's identified students and
the county's 公示 period. Reads are scoped by portal.access; every write goes through subsidies.services, so
the API and the pages refuse the same things with the same messages (400 with the message, nothing written;
403 for a role that may not)."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from portal.access import can_reveal_personal, can_run_identification, is_bureau_staff
from portal.api import DETAIL_WRITE_ERRORS, WRITE_ERRORS, LoggedRetrieveMixin, call_service
from portal.params import query_int
from students.models import School, Student, school_year_of
from subsidies import selectors, services
from subsidies.filters import IdentificationFilter
from subsidies.models import (
    Identification,
    IdentificationLevel,
    IdentificationObjection,
    IdentificationRound,
)


class ObjectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = IdentificationObjection
        fields = ["id", "raised_on", "content", "outcome", "outcome_note", "resolved_on"]


class IdentificationSerializer(serializers.ModelSerializer):
    student_name = serializers.CharField(source="student.name", read_only=True)
    id_number_masked = serializers.CharField(source="student.masked_id_number", read_only=True)
    family_income = serializers.DecimalField(max_digits=14, decimal_places=2, read_only=True)
    hardship_reasons = serializers.CharField(
        read_only=True, allow_null=True, help_text="Null for the read-only roles (it may name an illness)."
    )
    objections = ObjectionSerializer(many=True, read_only=True)

    class Meta:
        model = Identification
        fields = [
            "id",
            "student",
            "student_name",
            "id_number_masked",
            "school",
            "school_year",
            "kind",
            "effective_from",
            "status",
            "applied_on",
            "family_members",
            "family_income",
            "hardship_reasons",
            "guardian_name",
            "guardian_declared",
            "review_members",
            "review_result",
            "reviewed_on",
            "publicity_from",
            "publicity_to",
            "publicity_level",
            "school_level",
            "decided_on",
            "confirmed_level",
            "confirmed_on",
            "note",
            "objections",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        # The family's reasons may name an illness or a disability: only the roles working on the record
        # read them (not the officials).
        request = self.context.get("request")
        if request is None or not can_reveal_personal(request.user):
            data["hardship_reasons"] = None
        return data


class ApplySerializer(serializers.Serializer):
    student = serializers.IntegerField(help_text="The student's id (a student of the user's school).")
    school_year = serializers.IntegerField(min_value=2000, max_value=2100)
    kind = serializers.ChoiceField(choices=Identification.Kind.choices, default=Identification.Kind.ANNUAL)
    effective_from = serializers.DateField(
        required=False, allow_null=True, help_text="An in-year change only: the day it takes effect."
    )
    applied_on = serializers.DateField()
    family_members = serializers.IntegerField(min_value=1, max_value=30)
    family_income = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    hardship_reasons = serializers.CharField(max_length=2000)
    guardian_name = serializers.CharField(max_length=50)
    guardian_declared = serializers.BooleanField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReviewSerializer(serializers.Serializer):
    members = serializers.CharField(max_length=300)
    result = serializers.ChoiceField(choices=Identification.ReviewResult.choices)
    reviewed_on = serializers.DateField()


class DecideSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=IdentificationLevel.choices)
    decided_on = serializers.DateField()


class ObjectionAddSerializer(serializers.Serializer):
    raised_on = serializers.DateField()
    content = serializers.CharField(max_length=2000)


class ResolveSerializer(serializers.Serializer):
    objection = serializers.IntegerField()
    outcome = serializers.ChoiceField(
        choices=IdentificationObjection.Outcome.choices, help_text="upheld or dismissed (open is refused)."
    )
    finding = serializers.CharField(max_length=500)
    resolved_on = serializers.DateField()


class ConfirmSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=IdentificationLevel.choices,
        required=False,
        allow_blank=True,
        default="",
        help_text=(
            "The county's level, when it differs from the school's (empty: the school's). Empty for a "
            "withdrawal (an in-year finding of no difficulty), which takes no level."
        ),
    )


class PubliciseSerializer(serializers.Serializer):
    school = serializers.IntegerField()
    school_year = serializers.IntegerField(min_value=2000, max_value=2100)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()


class PublicisedSerializer(serializers.Serializer):
    publicised = serializers.IntegerField(help_text="How many identifications are on the 公示.")


class IdentifiedSerializer(serializers.ModelSerializer):
    """One identified student of the year: the confirmed level (school route) and the other departments'
    categories with their lists (category route); either may be empty, not both."""

    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)
    identified_level = serializers.ChoiceField(choices=IdentificationLevel.choices, allow_null=True)
    identified_from = serializers.DateField(allow_null=True)
    identified_categories = serializers.ListField(child=serializers.CharField())
    category_sources = serializers.ListField(child=serializers.CharField())

    class Meta:
        model = Student
        fields = [
            "id",
            "name",
            "id_number_masked",
            "school",
            "stage",
            "identified_level",
            "identified_from",
            "identified_categories",
            "category_sources",
        ]
        read_only_fields = fields


def _steps(serializer, *, status_code=200, response=IdentificationSerializer):
    return extend_schema(request=serializer, responses={status_code: response, **DETAIL_WRITE_ERRORS})


@extend_schema_view(
    create=extend_schema(request=ApplySerializer, responses={201: IdentificationSerializer, **WRITE_ERRORS})
)
class IdentificationViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """家庭经济困难学生认定: a family's identification for a school year, step by step. Principals run their
    school's (bureau staff may too), bureau staff confirm, township officers and officials read."""

    serializer_class = IdentificationSerializer
    filterset_class = IdentificationFilter
    write_allowed = staticmethod(can_run_identification)
    logged_record = "student"

    def get_queryset(self):
        return (
            Identification.objects.visible_to(self.request.user)
            .select_related("student")
            .prefetch_related("objections")
            .order_by("-school_year", "school_id", "pk")
        )

    def create(self, request, *args, **kwargs):
        params = ApplySerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        data["student"] = Student.objects.filter(pk=data["student"]).first()
        found = call_service(services.identification_apply, by=request.user, **data)
        return Response(self.get_serializer(found).data, status=status.HTTP_201_CREATED)

    def _step(self, request, service, serializer_class):
        identification = self.get_object()
        params = serializer_class(data=request.data)
        params.is_valid(raise_exception=True)
        found = call_service(service, by=request.user, identification=identification, **params.validated_data)
        return self.get_serializer(found).data

    @_steps(ReviewSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """The class review group's assessment (民主评议): members and result."""
        return Response(self._step(request, services.identification_review, ReviewSerializer))

    @_steps(DecideSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """The school's level; refused before the class review."""
        return Response(self._step(request, services.identification_decide, DecideSerializer))

    @_steps(ObjectionAddSerializer, status_code=201, response=ObjectionSerializer)
    @action(detail=True, methods=["post"])
    def objections(self, request, pk=None):
        """An objection raised during the 公示."""
        identification = self.get_object()
        params = ObjectionAddSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        objection = call_service(
            services.identification_objection_add,
            by=request.user,
            identification=identification,
            **params.validated_data,
        )
        return Response(ObjectionSerializer(objection).data, status=status.HTTP_201_CREATED)

    @_steps(ResolveSerializer, response=ObjectionSerializer)
    @action(detail=True, methods=["post"], url_path="resolve-objection")
    def resolve_objection(self, request, pk=None):
        """The outcome of an objection: upheld or dismissed, with the school's finding."""
        identification = self.get_object()
        params = ResolveSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        objection = (
            IdentificationObjection.objects.visible_to(request.user)
            .filter(identification=identification, pk=data.pop("objection"))
            .first()
        )
        if objection is None:
            raise serializers.ValidationError({"objection": [_("No such objection of this identification.")]})
        objection = call_service(
            services.identification_objection_resolve, by=request.user, objection=objection, **data
        )
        return Response(ObjectionSerializer(objection).data)

    @_steps(ConfirmSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        """The county's confirmation (bureau staff): refused while an objection is open or before the 公示
        has ended."""
        return Response(self._step(request, services.identification_confirm, ConfirmSerializer))

    @extend_schema(request=PubliciseSerializer, responses={200: PublicisedSerializer, **WRITE_ERRORS})
    @action(detail=False, methods=["post"])
    def publicise(self, request):
        """The school's 公示 of its reviewed identifications of the year, for at least the county's period."""
        params = PubliciseSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        school = School.objects.visible_to(request.user).filter(pk=data.pop("school")).first()
        if school is None:
            raise serializers.ValidationError({"school": [_("No such school in your area.")]})
        n = call_service(services.identification_publicise, by=request.user, school=school, **data)
        return Response({"publicised": n})

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "school_year", OpenApiTypes.INT, description="The school year (default: the current)."
            )
        ],
        responses=IdentifiedSerializer(many=True),
    )
    @action(detail=False, methods=["get"], filterset_class=None)
    def identified(self, request):
        """The one list of a school year's identified students: confirmed by the county after the school's
        identification, or on another department's list (脱贫户, 低保, 特困, 残疾 …, the list named)."""
        year = query_int(request.query_params, "school_year", low=2000, high=2100) or school_year_of()
        rows = selectors.identified_students(year, user=request.user).order_by("school__name", "name", "pk")
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(IdentifiedSerializer(page, many=True).data)


class IdentificationRoundSerializer(serializers.ModelSerializer):
    class Meta:
        model = IdentificationRound
        fields = ["id", "school_year", "publicity_days", "note"]
        validators: list = []
        extra_kwargs = {"school_year": {"validators": []}, "publicity_days": {"required": True}}


@extend_schema_view(
    create=extend_schema(
        request=IdentificationRoundSerializer, responses={201: IdentificationRoundSerializer, **WRITE_ERRORS}
    )
)
class IdentificationRoundViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The county's setting of a school year's identification: the 公示's least number of days (bureau staff
    set it; posting a year already set changes it)."""

    serializer_class = IdentificationRoundSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return IdentificationRound.objects.visible_to(self.request.user).order_by("-school_year")

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.identification_round_set, by=self.request.user, **serializer.validated_data
        )
