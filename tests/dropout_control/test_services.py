"""The rules of a case's life, refused input and who may do what."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pghistory.models
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from dropout_control import services
from dropout_control.models import CasePeriod, DropoutCase, HomeTeachingVisit, PersuasionVisit, TeamMember
from students.models import School
from tests.dropout_control.factories import open_case
from tests.factories import SchoolFactory, make_id_number
from tests.refusals import nothing_written

Outcome = DropoutCase.Outcome
FOUND = date(2025, 3, 3)
COMMITTEE = {
    "committee_decided_on": date(2025, 3, 3),
    "committee_decision": "重度残疾，送教上门",
    "committee_document": "县残评〔2025〕3号",
}


def messages(exc) -> str:
    return " ".join(exc.value.messages)


def test_township_officer_opens_a_case_for_an_unregistered_child(township_officer, township_a):
    case = open_case(township=township_a, by=township_officer)
    assert case.status == DropoutCase.Status.OPEN
    assert case.student is None
    assert list(case.periods.values_list("opened_on", "closed_on")) == [(FOUND, None)]


def test_case_for_a_registered_student_takes_the_child_from_the_registry(principal_a, student_a, school_a):
    case = services.case_open(
        by=principal_a,
        student=student_a,
        found_on=FOUND,
        found_by="school_report",
        reason="study_difficulty",
        found_late_reason="补录",
    )
    assert (case.id_number, case.name, case.school, case.township) == (
        student_a.id_number,
        "张小明",
        school_a,
        school_a.township,
    )


def test_child_outside_compulsory_age_needs_a_reason(township_a, bureau):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        open_case(township=township_a, by=bureau, birth=date(2008, 1, 1))  # 17 on the date found
    assert "age_exception" in exc.value.message_dict
    assert "17" in messages(exc)
    assert not DropoutCase.objects.exists()
    case = open_case(
        township=township_a, by=bureau, birth=date(2008, 1, 1), age_exception="随迁返乡，补登义务教育"
    )
    assert case.pk


def test_five_year_old_is_outside_compulsory_age_too(township_a, bureau):
    with nothing_written(), pytest.raises(ValidationError):
        open_case(township=township_a, by=bureau, birth=date(2020, 1, 1))


def test_second_open_case_for_the_same_child_is_refused(township_a, township_b):
    number = make_id_number(date(2014, 5, 1))
    open_case(township=township_a, id_number=number)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        open_case(township=township_b, id_number=number)
    assert "已有" in messages(exc) or "already" in messages(exc)
    assert DropoutCase.objects.count() == 1


def test_database_refuses_a_second_open_case_even_past_the_service(township_a):
    case = open_case(township=township_a)
    twin = DropoutCase(
        id_number=case.id_number,
        name="x",
        township=township_a,
        found_on=FOUND,
        found_by="school_report",
        reason="other",
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


def test_a_closed_case_does_not_block_a_new_one(township_a, bureau):
    case = open_case(township=township_a)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        on=date(2025, 4, 1),
        outcome_note="广东东莞",
        by=bureau,
    )
    assert open_case(township=township_a, id_number=case.id_number, found_on=date(2025, 5, 1)).pk != case.pk


def test_bad_id_number_is_refused(township_a, bureau):
    with nothing_written(), pytest.raises(ValidationError) as exc:
        open_case(township=township_a, by=bureau, id_number="360730201405010000")
    assert "id_number" in exc.value.message_dict


def test_found_in_the_future_is_refused(township_a, bureau):
    with nothing_written(), pytest.raises(ValidationError):
        open_case(township=township_a, by=bureau, found_on=timezone.localdate() + timedelta(days=1))


def test_township_officer_cannot_open_a_case_in_another_township(township_officer, township_b):
    with nothing_written(), pytest.raises(PermissionDenied):
        open_case(township=township_b, by=township_officer)
    assert not DropoutCase.objects.exists()


def test_principal_opens_only_for_own_school(principal_a, school_a, school_b):
    assert open_case(township=school_a.township, school=school_a, by=principal_a).pk
    with nothing_written(), pytest.raises(PermissionDenied):
        open_case(township=school_a.township, school=school_b, by=principal_a)


def test_official_cannot_open_a_case(official, township_a):
    with nothing_written(), pytest.raises(PermissionDenied):
        open_case(township=township_a, by=official)


def test_principal_cannot_edit_another_schools_case(principal_a, principal_b, school_b):
    case = open_case(township=school_b.township, school=school_b, by=principal_b)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_update(case=case, reason_detail="改了", by=principal_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_add_visit(case=case, visited_on=FOUND, visitors="x", result="y", by=principal_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_close(
            proof="证明材料",
            case=case,
            outcome=Outcome.RETURNED,
            outcome_school=school_b,
            on=FOUND,
            by=principal_a,
        )
    case.refresh_from_db()
    assert (case.reason_detail, case.status) == ("", "open")


def test_principal_cannot_move_own_case_to_another_school(principal_a, school_a, school_b):
    case = open_case(township=school_a.township, school=school_a, by=principal_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_update(case=case, school=school_b, by=principal_a)
    case.refresh_from_db()
    assert case.school == school_a


def test_township_officer_works_cases_of_children_living_in_the_township(
    township_officer, township_a, school_b
):
    # The child lives in township A but the responsible school is in township B (乡镇属地).
    case = open_case(township=township_a, school=school_b)
    visit = services.case_add_visit(
        case=case, visited_on=FOUND, visitors="乡干部", result="家长同意", by=township_officer
    )
    assert visit.pk


def test_visit_before_the_case_was_found_is_refused(township_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_add_visit(
            case=case, visited_on=FOUND - timedelta(days=1), visitors="x", result="y", by=bureau
        )
    assert "visited_on" in exc.value.message_dict
    assert not PersuasionVisit.objects.exists()


def test_visit_in_the_future_is_refused(township_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError):
        services.case_add_visit(
            case=case,
            visited_on=timezone.localdate() + timedelta(days=1),
            visitors="x",
            result="y",
            by=bureau,
        )
    assert not PersuasionVisit.objects.exists()


def test_visit_records_next_step(township_a, bureau):
    case = open_case(township=township_a)
    visit = services.case_add_visit(
        case=case,
        visited_on=FOUND + timedelta(days=2),
        visitors="镇长、校长、班主任",
        result="家长答应开学送回",
        next_step="开学当天核实到校",
        next_on=FOUND + timedelta(days=10),
        by=bureau,
    )
    assert case.visits.get() == visit


def test_next_step_before_the_visit_is_refused(township_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError):
        services.case_add_visit(
            case=case,
            visited_on=FOUND,
            visitors="x",
            result="y",
            next_on=FOUND - timedelta(days=1),
            by=bureau,
        )


def test_team_of_six_with_first_responsible(township_a, bureau):
    case = open_case(township=township_a)
    members = {role: (f"{label}甲", "13800000000") for role, label in TeamMember.Role.choices}
    services.case_set_team(case=case, members=members, by=bureau)
    assert case.team.count() == 6
    first = {m.role for m in case.team.all() if m.is_first_responsible}
    assert first == {"township_leader", "school_leader"}
    services.case_set_team(case=case, members={"teacher": ("李老师", "0797-1234567")}, by=bureau)
    assert list(case.team.values_list("name", flat=True)) == ["李老师"]


def test_team_member_needs_a_valid_phone(township_a, bureau):
    case = open_case(township=township_a)
    services.case_set_team(case=case, members={"teacher": ("李老师", "13800000000")}, by=bureau)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_set_team(
            case=case,
            members={"teacher": ("王老师", "13800000001"), "village_cadre": ("张三", "abc")},
            by=bureau,
        )
    assert "village_cadre" in exc.value.message_dict
    assert list(case.team.values_list("name", flat=True)) == ["李老师"]  # nothing half-written


def test_closing_without_an_outcome_is_refused(township_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_close(proof="证明材料", case=case, outcome="", on=FOUND, by=bureau)
    assert "outcome" in exc.value.message_dict
    case.refresh_from_db()
    assert case.status == "open"
    assert case.periods.get().closed_on is None


def test_database_refuses_a_closed_case_without_an_outcome(township_a):
    case = open_case(township=township_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        DropoutCase.objects.filter(pk=case.pk).update(status="closed")


def test_returned_to_school_is_closed_only_after_the_watch(township_a, school_a, bureau):
    """Found → returned → watched → closed: the bureau cannot close a case as returned without the watch."""
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_close(
            proof="证明材料",
            case=case,
            outcome=Outcome.RETURNED,
            outcome_school=school_a,
            on=date(2025, 3, 10),
            by=bureau,
        )
    assert "outcome" in exc.value.message_dict
    case.refresh_from_db()
    assert case.status == "open"


def test_special_school_placement_needs_a_special_school(township_a, school_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError):
        services.case_close(
            proof="证明材料",
            case=case,
            outcome=Outcome.SPECIAL_SCHOOL,
            outcome_school=school_a,
            on=FOUND,
            by=bureau,
        )
    special = SchoolFactory(township=township_a, school_type=School.Type.SPECIAL)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.SPECIAL_SCHOOL,
        outcome_school=special,
        on=FOUND,
        by=bureau,
    )


def test_exemption_needs_evidence(township_a, bureau):
    case = open_case(township=township_a, reason="disability")
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_close(proof="证明材料", case=case, outcome=Outcome.EXEMPTED, on=FOUND, by=bureau)
    assert "outcome_note" in exc.value.message_dict
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.EXEMPTED,
        outcome_note="县医院诊断证明 2025-031",
        on=FOUND,
        by=bureau,
        **COMMITTEE,
    )


def test_reached_16_only_when_sixteen(township_a, bureau):
    case = open_case(township=township_a, birth=date(2009, 6, 1))
    with nothing_written(), pytest.raises(ValidationError):
        services.case_close(
            proof="证明材料", case=case, outcome=Outcome.REACHED_16, on=date(2025, 5, 31), by=bureau
        )
    services.case_close(
        proof="证明材料", case=case, outcome=Outcome.REACHED_16, on=date(2025, 6, 1), by=bureau
    )


def test_outcome_before_found_or_in_future_is_refused(township_a, school_a, bureau):
    case = open_case(township=township_a)
    for day in (FOUND - timedelta(days=1), timezone.localdate() + timedelta(days=1)):
        with nothing_written(), pytest.raises(ValidationError):
            services.case_close(
                proof="证明材料",
                case=case,
                outcome=Outcome.TRANSFERRED_OUT,
                outcome_note="广东东莞",
                on=day,
                by=bureau,
            )


def test_official_cannot_close(township_a, school_a, official):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(PermissionDenied):
        services.case_close(
            proof="证明材料",
            case=case,
            outcome=Outcome.TRANSFERRED_OUT,
            outcome_note="广东东莞",
            on=FOUND,
            by=official,
        )


def home_teaching_case(township, bureau):
    case = open_case(township=township, reason="disability")
    return services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.HOME_TEACHING,
        on=date(2025, 3, 5),
        home_teacher="刘老师",
        home_schedule="每月两次，每次2小时",
        home_visits_per_month=2,
        home_hours_per_term=Decimal("40"),
        by=bureau,
        **COMMITTEE,
    )


def test_home_teaching_needs_teacher_and_schedule(township_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.case_close(proof="证明材料", case=case, outcome=Outcome.HOME_TEACHING, on=FOUND, by=bureau)
    assert {"home_teacher", "home_schedule"} <= set(exc.value.message_dict)


def test_home_teaching_visits_are_logged(township_a, bureau):
    case = home_teaching_case(township_a, bureau)
    services.home_teaching_log_add(
        case=case,
        visited_on=date(2025, 3, 12),
        teacher="刘老师",
        hours=Decimal("2.0"),
        content="识字、康复训练",
        by=bureau,
    )
    assert case.home_visits.get().hours == Decimal("2.0")


def test_home_teaching_log_for_a_case_not_in_that_outcome_is_refused(township_a, school_a, bureau):
    open_one = open_case(township=township_a)
    closed = services.case_close(
        proof="证明材料",
        case=open_case(township=township_a),
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东东莞",
        on=FOUND,
        by=bureau,
    )
    for case in (open_one, closed):
        with nothing_written(), pytest.raises(ValidationError) as exc:
            services.home_teaching_log_add(
                case=case, visited_on=FOUND, teacher="刘老师", hours=Decimal("2"), content="x", by=bureau
            )
        assert "送教上门" in messages(exc) or "home-delivered" in messages(exc)
    assert not HomeTeachingVisit.objects.exists()


def test_home_teaching_log_refuses_zero_hours_and_future_dates(township_a, bureau):
    case = home_teaching_case(township_a, bureau)
    with nothing_written(), pytest.raises(ValidationError):
        services.home_teaching_log_add(
            case=case, visited_on=date(2025, 3, 12), teacher="刘", hours=Decimal("0"), content="x", by=bureau
        )
    with nothing_written(), pytest.raises(ValidationError):
        services.home_teaching_log_add(
            case=case,
            visited_on=timezone.localdate() + timedelta(days=1),
            teacher="刘",
            hours=Decimal("2"),
            content="x",
            by=bureau,
        )
    assert not HomeTeachingVisit.objects.exists()


def test_reopening_is_recorded_as_a_new_period(township_a, school_a, bureau):
    case = open_case(township=township_a)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东东莞",
        on=date(2025, 3, 10),
        by=bureau,
    )
    services.case_reopen(case=case, on=date(2025, 4, 2), reason="复学后再次辍学", by=bureau)
    case.refresh_from_db()
    assert (case.status, case.outcome, case.outcome_school) == ("open", "", None)
    periods = list(
        CasePeriod.objects.filter(case=case).values_list("opened_on", "closed_on", "outcome", "reopen_reason")
    )
    assert periods == [
        (FOUND, date(2025, 3, 10), "transferred_out", ""),
        (date(2025, 4, 2), None, "", "复学后再次辍学"),
    ]


def test_reopening_needs_a_reason_and_a_closed_case(township_a, school_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(), pytest.raises(ValidationError):
        services.case_reopen(case=case, reason="x", on=FOUND, by=bureau)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东东莞",
        on=date(2025, 3, 10),
        by=bureau,
    )
    with nothing_written(), pytest.raises(ValidationError):
        services.case_reopen(case=case, reason=" ", on=date(2025, 4, 1), by=bureau)
    with nothing_written(), pytest.raises(ValidationError):
        services.case_reopen(case=case, reason="again", on=date(2025, 3, 9), by=bureau)
    assert case.periods.count() == 1


def test_reopening_refused_while_another_case_is_open(township_a, school_a, bureau):
    case = open_case(township=township_a)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东东莞",
        on=date(2025, 3, 10),
        by=bureau,
    )
    open_case(township=township_a, id_number=case.id_number, found_on=date(2025, 4, 1))
    with nothing_written(), pytest.raises(ValidationError):
        services.case_reopen(case=case, reason="again", on=date(2025, 4, 2), by=bureau)


def test_visit_on_a_closed_case_is_refused(township_a, school_a, bureau):
    case = open_case(township=township_a)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东东莞",
        on=FOUND,
        by=bureau,
    )
    with nothing_written(), pytest.raises(ValidationError):
        services.case_add_visit(case=case, visited_on=FOUND, visitors="x", result="y", by=bureau)


def test_history_records_who_closed(township_a, school_a, bureau):
    case = open_case(township=township_a)
    services.case_close(
        proof="证明材料",
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东东莞",
        on=FOUND,
        by=bureau,
    )
    events = pghistory.models.Events.objects.tracks(case).order_by("pgh_created_at")
    update = [e for e in events if e.pgh_label == "update"][-1]
    assert update.pgh_diff["status"] == ["open", "closed"]
    assert int(update.pgh_context["user"]) == bureau.pk


def test_team_change_keeps_the_member_row_and_its_history(township_a, bureau):
    case = open_case(township=township_a)
    services.case_set_team(case=case, members={"teacher": ("李老师", "13800000000")}, by=bureau)
    member = case.team.get()
    services.case_set_team(case=case, members={"teacher": ("王老师", "13800000000")}, by=bureau)
    assert case.team.get().pk == member.pk
    diffs = [e.pgh_diff for e in pghistory.models.Events.objects.tracks(member) if e.pgh_label == "update"]
    assert diffs == [{"name": ["李老师", "王老师"]}]
