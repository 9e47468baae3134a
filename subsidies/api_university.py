"""REST API of the university students' roster and their aid, and of social aid (issue 14), under
/api/subsidies/. Reads are scoped by portal.access; writes (bureau staff) go through subsidies.services, so the
API and the pages refuse the same things with the same messages."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets

from portal.access import is_bureau_staff
from portal.api import LoggedRetrieveMixin, call_service
from subsidies import services
from subsidies.models import SocialAidGrant, SocialAidProgramme, UniversityAid, UniversityStudent

REFUSED = {
    400: OpenApiResponse(
        description="Refused, nothing written: a field's messages ({field: [message]}) or the refusal "
        "({detail: [message]}): a wrong ID number, a number not on the roster (or the register that day), an "
        "amount that is not positive to the fen, a date in the future, a duplicate."
    ),
    403: OpenApiResponse(
        description="Not bureau staff (officials read only; other roles do not write here)."
    ),
}


def _created(serializer):
    return extend_schema(responses={201: serializer, **REFUSED})


class UniversityStudentSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(write_only=True, max_length=20)
    id_number_masked = serializers.CharField(source="masked_id_number", read_only=True)

    class Meta:
        model = UniversityStudent
        fields = [
            "id",
            "id_number",
            "id_number_masked",
            "name",
            "university",
            "enrolment_year",
            "home_township",
            "category",
            "note",
        ]
        # The ID number and the roster's uniqueness: university_student_add, with the clerk's messages.
        validators: list = []


@extend_schema_view(create=_created(UniversityStudentSerializer))
class UniversityStudentViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """生源地大学生: the county's university students, on no school's roll."""

    serializer_class = UniversityStudentSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return UniversityStudent.objects.visible_to(self.request.user).order_by(
            "-enrolment_year", "name", "pk"
        )

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.university_student_add, by=self.request.user, **serializer.validated_data
        )


class UniversityAidSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(
        write_only=True, max_length=20, help_text="The university student's ID number (on the roster)."
    )
    # The roster's row (not a student of the register).
    university_student = serializers.PrimaryKeyRelatedField(source="student", read_only=True)
    student_name = serializers.CharField(source="student.name", read_only=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)

    class Meta:
        model = UniversityAid
        fields = [
            "id",
            "id_number",
            "university_student",
            "student_name",
            "kind",
            "school_year",
            "amount",
            "paid_on",
            "note",
        ]
        validators: list = []


@extend_schema_view(create=_created(UniversityAidSerializer))
class UniversityAidViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Aid paid to university students: 新生入学路费资助, 大学生学费资助, other."""

    serializer_class = UniversityAidSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return (
            UniversityAid.objects.visible_to(self.request.user)
            .select_related("student")
            .order_by("-paid_on", "pk")
        )

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.university_aid_add, by=self.request.user, **serializer.validated_data
        )


class SocialProgrammeSerializer(serializers.ModelSerializer):
    class Meta:
        model = SocialAidProgramme
        fields = ["id", "name", "donor", "target", "note"]
        validators: list = []
        extra_kwargs = {"name": {"validators": []}}


@extend_schema_view(create=_created(SocialProgrammeSerializer))
class SocialProgrammeViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """社会资助 programmes: name, donor, stage or target."""

    serializer_class = SocialProgrammeSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return SocialAidProgramme.objects.visible_to(self.request.user).order_by("name")

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.social_programme_add, by=self.request.user, **serializer.validated_data
        )


class SocialGrantSerializer(serializers.ModelSerializer):
    id_number = serializers.CharField(
        write_only=True,
        max_length=20,
        help_text="A child on a school's roll on the grant's date, or a university student of the roster.",
    )
    recipient_name = serializers.CharField(read_only=True)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    programme = serializers.PrimaryKeyRelatedField(queryset=SocialAidProgramme.objects.all())

    class Meta:
        model = SocialAidGrant
        fields = [
            "id",
            "programme",
            "id_number",
            "student",
            "university_student",
            "recipient_name",
            "school",
            "township",
            "amount",
            "granted_on",
            "note",
        ]
        read_only_fields = ["student", "university_student", "school", "township"]
        validators: list = []


@extend_schema_view(create=_created(SocialGrantSerializer))
class SocialGrantViewSet(LoggedRetrieveMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """A programme's grants to students (one grant = one 人次)."""

    serializer_class = SocialGrantSerializer
    write_allowed = staticmethod(is_bureau_staff)

    def get_queryset(self):
        return (
            SocialAidGrant.objects.visible_to(self.request.user)
            .select_related("student", "university_student")
            .order_by("-granted_on", "pk")
        )

    def perform_create(self, serializer):
        serializer.instance = call_service(
            services.social_grant_add, by=self.request.user, **serializer.validated_data
        )
