"""After the return (issue 18): the register, the watch, the bureau's closing, home teaching's committee and plan."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from openpyxl import Workbook

from dropout_control import matching, services
from dropout_control.models import (
    ClosingRequest,
    DropoutCase,
    HouseholdRegisterRow,
    ReturnWatch,
    WatchPolicy,
)
from dropout_control.selectors import home_teaching_monitor
from dropout_control.services.common import add_months
from students.models import Stage, Student, Transfer
from tests.dropout_control.conftest import (
    FOUND,
    MONTHS,
    RETURNED,
    WATCH_END,
    WATCH_MONTHS,
    today,
    whole_watch_ran,
)
from tests.dropout_control.factories import HOME_TEACHING, open_case, recorded_on_the_day, return_and_watch
from tests.factories import SchoolFactory, StudentFactory
from tests.refusals import nothing_written

Outcome = DropoutCase.Outcome
# Found last school year, returned ten days into the running one and watched two months (tests/dropout_control/
# conftest.py): the return is on the register of the running year, and the watch can have run by the real clock.
pytestmark = [pytest.mark.usefixtures("short_watch"), whole_watch_ran]


def messages(exc) -> str:
    return " ".join(exc.value.messages)


# --- the return puts the child on the register ---------------------------------------------------------


def test_return_creates_the_childs_place_on_the_register(township_a, school_a, township_officer):
    case = open_case(township=township_a, guardian_name="王大", guardian_phone="13800000000")
    assert not Student.objects.exists()
    watch = services.case_return(
        case=case,
        school=school_a,
        on=RETURNED,
        stage=Stage.PRIMARY,
        grade=4,
        late_reason="补录",
        by=township_officer,
    )
    student = Student.objects.get(id_number=case.id_number)
    assert (student.school, student.stage, student.grade, student.status, student.enrolled_on) == (
        school_a,
        Stage.PRIMARY,
        4,
        Student.Status.ENROLLED,
        RETURNED,
    )
    assert (student.home_township, student.guardian_name, student.household_county_code) == (
        township_a,
        "王大",
        township_a.county.code,
    )
    case.refresh_from_db()
    assert (case.student, case.school, case.status, case.stage) == (student, school_a, "open", "watched")
    assert (watch.returned_on, watch.watch_until, watch.status) == (RETURNED, WATCH_END, "watching")


def test_return_reactivates_the_old_record_at_the_school_returned_to(school_a, school_b, bureau):
    student = StudentFactory(school=school_b, status=Student.Status.SUSPENDED, grade=5)
    services.long_absence_mark(student=student, since=FOUND - timedelta(days=30), by=bureau)
    case = services.case_open(
        by=bureau, student=student, found_on=FOUND, found_by="school_report", reason="other"
    )
    services.case_return(case=case, school=school_a, on=RETURNED, by=bureau)
    student.refresh_from_db()
    assert (student.school, student.status, student.enrolled_on, student.grade) == (
        school_a,
        Student.Status.ENROLLED,
        RETURNED,
        5,
    )
    transfer = Transfer.objects.get(student=student)
    assert (transfer.from_school, transfer.to_school, transfer.on) == (school_b, school_a, RETURNED)
    assert student.long_absences.get().ended_on == RETURNED


def test_without_the_return_the_child_is_flagged_again_with_it_not(township_a, school_a, bureau):
    """The defect of the issue: a returned child was a suspect again at the next comparison."""
    case = open_case(township=township_a)
    return_and_watch(case, school=school_a, on=RETURNED, by=bureau)
    services.case_close(proof="证明材料", case=case, outcome=Outcome.RETURNED, on=WATCH_END, by=bureau)
    wb = Workbook()
    wb.active.append(["身份证号", "姓名", "乡镇", "村"])
    wb.active.append([case.id_number, case.name, township_a.name, case.village])
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    upload = matching.household_register_upload(file=buffer, file_name="x.xlsx", as_of=today(), by=bureau)
    assert upload.suspect_count == 0
    assert HouseholdRegisterRow.objects.get().finding == HouseholdRegisterRow.Finding.ENROLLED


def test_a_new_child_returns_only_with_stage_and_grade(township_a, school_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_return(case=case, school=school_a, on=RETURNED, by=bureau)
    assert {"stage", "grade"} <= set(exc.value.message_dict)


def test_return_before_found_in_the_future_or_to_a_kindergarten_is_refused(township_a, school_a, bureau):
    case = open_case(township=township_a)
    kindergarten = SchoolFactory(township=township_a, school_type="kindergarten")
    for school, day in (
        (school_a, FOUND - timedelta(days=1)),
        (school_a, timezone.localdate() + timedelta(days=1)),
        (kindergarten, RETURNED),
    ):
        with nothing_written(case), pytest.raises(ValidationError):
            services.case_return(case=case, school=school, on=day, stage="primary", grade=3, by=bureau)


def test_the_watch_lasts_as_long_as_the_county_says(township_a, school_a, bureau):
    services.watch_policy_set(months=3, by=bureau)
    watch = return_and_watch(open_case(township=township_a), school=school_a, on=RETURNED, confirm=False)
    assert watch.watch_until == add_months(RETURNED, 3)
    services.watch_policy_set(months=6, by=bureau)
    watch.refresh_from_db()
    assert watch.watch_until == add_months(RETURNED, 3)  # a running watch keeps its length


def test_only_the_bureau_sets_the_watch_period(township_officer):
    with nothing_written(), pytest.raises(PermissionDenied):
        services.watch_policy_set(months=3, by=township_officer)
    assert WatchPolicy.current_months() == WATCH_MONTHS


# --- the watch: monthly confirmations, raised again ----------------------------------------------------


def test_school_confirms_each_month_of_the_watch(township_a, school_a, principal_a, bureau):
    case = open_case(township=township_a, school=school_a)
    recorded_on_the_day(
        services.case_return(case=case, school=school_a, on=RETURNED, stage="primary", grade=3, by=bureau)
    )
    for month in MONTHS:
        services.watch_confirm_month(case=case, month=month + timedelta(days=14), by=principal_a)
    watch = case.watches.get()
    assert list(watch.confirmations.values_list("month", flat=True)) == MONTHS
    with nothing_written(), pytest.raises(ValidationError) as exc:
        services.watch_confirm_month(case=case, month=MONTHS[1], by=principal_a)
    assert "month" in exc.value.message_dict
    with nothing_written(), pytest.raises(ValidationError):  # after the watch's months
        services.watch_confirm_month(case=case, month=add_months(MONTHS[-1], 1), by=principal_a)


def test_confirmation_for_a_child_not_in_a_watch_is_refused(township_a, school_a, bureau):
    case = open_case(township=township_a)
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.watch_confirm_month(case=case, month=MONTHS[0], by=bureau)
    assert "观察期" in messages(exc) or "watch period" in messages(exc)


def test_a_month_not_attended_raises_the_same_case(township_a, school_a, bureau):
    case = open_case(township=township_a)
    return_and_watch(case, school=school_a, on=RETURNED, confirm=False)
    services.watch_confirm_month(case=case, month=MONTHS[0], by=bureau)
    with nothing_written(case), pytest.raises(ValidationError):  # not attended needs a word on why
        services.watch_confirm_month(case=case, month=MONTHS[1], attended=False, by=bureau)
    services.watch_confirm_month(case=case, month=MONTHS[1], attended=False, note="又外出打工", by=bureau)
    watch = case.watches.get()
    assert watch.status == ReturnWatch.Status.RAISED and "又外出打工" in watch.end_reason
    case.refresh_from_db()
    assert (case.status, case.stage) == ("open", "found")
    assert DropoutCase.objects.count() == 1
    assert case.periods.count() == 1  # the ledger line never closed


def test_a_new_long_absence_raises_the_case_rather_than_opening_one(township_a, school_a, principal_a):
    case = open_case(township=township_a, school=school_a)
    watch = return_and_watch(case, school=school_a, on=RETURNED, confirm=False)
    services.long_absence_mark(student=watch.student, since=RETURNED + timedelta(days=40), by=principal_a)
    watch.refresh_from_db()
    assert (watch.status, watch.ended_on) == (ReturnWatch.Status.RAISED, RETURNED + timedelta(days=40))
    assert DropoutCase.objects.count() == 1


def test_a_month_left_unconfirmed_raises_the_case_at_the_nightly_check(township_a, school_a, bureau):
    case = open_case(township=township_a)
    watch = services.case_return(case=case, school=school_a, on=RETURNED, stage="primary", grade=3, by=bureau)
    recorded = timezone.localdate(watch.created_at)
    # Recorded today for a past return: the school has the grace period from today for the first month, and
    # the next months come due one a month from the recording (the watch runs in real time).
    assert services.watches_check(on=recorded + timedelta(days=10)) == 0
    services.watch_confirm_month(case=case, month=MONTHS[0], by=bureau)
    assert services.watches_check(on=recorded + timedelta(days=11)) == 0
    next_due = add_months(recorded, 1) - timedelta(days=1)
    assert services.watches_check(on=next_due + timedelta(days=10)) == 0
    assert services.watches_check(on=next_due + timedelta(days=11)) == 1
    watch.refresh_from_db()
    assert watch.status == ReturnWatch.Status.RAISED and MONTHS[1].isoformat()[:7] in watch.end_reason


def test_the_nightly_check_leaves_a_watch_that_is_up_to_date(township_a, school_a):
    watch = return_and_watch(open_case(township=township_a), school=school_a, on=RETURNED)
    assert services.watches_check(on=timezone.localdate() + timedelta(days=30)) == 0
    watch.refresh_from_db()
    assert watch.is_watching


# --- closing: asked by the township or the school, confirmed by the bureau ----------------------------


def test_township_asks_and_the_bureau_confirms_the_closing(township_a, school_a, township_officer, bureau):
    case = open_case(township=township_a, by=township_officer)
    return_and_watch(case, school=school_a, on=RETURNED, by=township_officer)
    request = services.case_close_request(
        case=case, outcome=Outcome.RETURNED, on=WATCH_END, proof="复学登记表", by=township_officer
    )
    case.refresh_from_db()
    assert case.status == "open" and request.status == ClosingRequest.Status.PENDING
    services.case_close_confirm(request=request, by=bureau, note="材料齐全")
    case.refresh_from_db()
    request.refresh_from_db()
    assert (case.status, case.outcome, case.outcome_on, case.outcome_school) == (
        "closed",
        "returned",
        WATCH_END,
        school_a,  # the school of the return
    )
    assert (request.status, request.decided_by) == (ClosingRequest.Status.CONFIRMED, bureau)
    assert case.periods.get().closed_on == WATCH_END
    assert case.watches.get().status == ReturnWatch.Status.COMPLETED


def test_township_cannot_close_without_the_bureau(township_a, school_a, township_officer):
    case = open_case(township=township_a, by=township_officer)
    return_and_watch(case, school=school_a, on=RETURNED, by=township_officer)
    with nothing_written(case), pytest.raises(PermissionDenied):
        services.case_close(
            proof="证明材料",
            case=case,
            outcome=Outcome.RETURNED,
            outcome_school=school_a,
            on=WATCH_END,
            by=township_officer,
        )


def test_closing_request_needs_the_proof(township_a, school_a, principal_a):
    case = open_case(township=township_a, school=school_a)
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_close_request(
            case=case,
            outcome=Outcome.TRANSFERRED_OUT,
            outcome_note="广东",
            on=FOUND,
            proof=" ",
            by=principal_a,
        )
    assert "proof" in exc.value.message_dict


def test_returned_case_closes_only_after_a_full_confirmed_watch(township_a, school_a, bureau):
    case = open_case(township=township_a)
    return_and_watch(case, school=school_a, on=RETURNED, confirm=False)
    for month in MONTHS[:-1]:
        services.watch_confirm_month(case=case, month=month, by=bureau)
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_close_request(
            case=case, outcome=Outcome.RETURNED, on=WATCH_END - timedelta(days=9), proof="x", by=bureau
        )
    assert WATCH_END.isoformat() in messages(exc) and MONTHS[-1].isoformat()[:7] in messages(exc)
    services.watch_confirm_month(case=case, month=MONTHS[-1], by=bureau)
    assert services.case_close_request(
        case=case, outcome=Outcome.RETURNED, on=WATCH_END, proof="x", by=bureau
    )


def test_a_raised_watch_stops_a_pending_closing(township_a, school_a, township_officer, bureau):
    case = open_case(township=township_a)
    watch = return_and_watch(case, school=school_a, on=RETURNED)
    request = services.case_close_request(
        case=case, outcome=Outcome.RETURNED, on=WATCH_END, proof="复学登记表", by=township_officer
    )
    services.long_absence_mark(student=watch.student, since=today(), by=bureau)
    with nothing_written(case, request), pytest.raises(ValidationError):
        services.case_close_confirm(request=request, by=bureau)


def test_bureau_sends_a_closing_back_with_a_reason(township_a, principal_a, school_a, bureau):
    case = open_case(township=township_a, school=school_a)
    request = services.case_close_request(
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东",
        on=FOUND,
        proof="转学证明",
        by=principal_a,
    )
    with nothing_written(request), pytest.raises(ValidationError):
        services.case_close_reject(request=request, note="", by=bureau)
    services.case_close_reject(request=request, note="缺少转入学校回执", by=bureau)
    request.refresh_from_db()
    case.refresh_from_db()
    assert (request.status, case.status) == (ClosingRequest.Status.REJECTED, "open")
    with nothing_written(request), pytest.raises(ValidationError):  # decided once
        services.case_close_confirm(request=request, by=bureau)


def test_only_the_bureau_confirms(township_a, school_a, principal_a, township_officer):
    case = open_case(township=township_a, school=school_a)
    request = services.case_close_request(
        case=case,
        outcome=Outcome.TRANSFERRED_OUT,
        outcome_note="广东",
        on=FOUND,
        proof="转学证明",
        by=principal_a,
    )
    for user in (principal_a, township_officer):
        with nothing_written(case, request), pytest.raises(PermissionDenied):
            services.case_close_confirm(request=request, by=user)


def test_one_pending_closing_at_a_time(township_a, school_a, principal_a):
    case = open_case(township=township_a, school=school_a)
    body = {"outcome": Outcome.TRANSFERRED_OUT, "outcome_note": "广东", "on": FOUND, "proof": "转学证明"}
    services.case_close_request(case=case, by=principal_a, **body)
    with nothing_written(case), pytest.raises(ValidationError):
        services.case_close_request(case=case, by=principal_a, **body)


# --- 送教上门 and exemptions: the committee's decision, visits due, hours against the plan ----------


def test_home_teaching_needs_the_committees_decision(township_a, bureau):
    case = open_case(township=township_a, reason="disability")
    without = {k: v for k, v in HOME_TEACHING.items() if not k.startswith("committee")}
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_close(proof="证明材料", case=case, on=FOUND, by=bureau, **without)
    assert "committee_decision" in exc.value.message_dict
    services.case_close(proof="证明材料", case=case, on=FOUND, by=bureau, **HOME_TEACHING)
    case.refresh_from_db()
    assert (case.committee_document, case.home_visits_per_month, case.home_hours_per_term) == (
        "县残评〔2025〕3号",
        2,
        Decimal("40"),
    )


def test_exemption_needs_the_committees_decision_too(township_a, bureau):
    case = open_case(township=township_a, reason="disability")
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_close(
            proof="证明材料",
            case=case,
            outcome=Outcome.EXEMPTED,
            outcome_note="诊断证明",
            on=FOUND,
            by=bureau,
        )
    assert "committee_decision" in exc.value.message_dict


def test_home_teaching_plan_needs_visits_and_hours(township_a, bureau):
    case = open_case(township=township_a, reason="disability")
    with nothing_written(case), pytest.raises(ValidationError) as exc:
        services.case_close(
            proof="证明材料",
            case=case,
            on=FOUND,
            by=bureau,
            **{**HOME_TEACHING, "home_visits_per_month": None, "home_hours_per_term": None},
        )
    assert {"home_visits_per_month", "home_hours_per_term"} <= set(exc.value.message_dict)


def test_home_teaching_monitor_flags_overdue_visits_and_hours_behind_plan(township_a, bureau):
    today = timezone.localdate()
    behind = open_case(
        township=township_a, reason="disability", found_on=today - timedelta(days=100), name="落后"
    )
    services.case_close(
        proof="证明材料",
        case=behind,
        on=today - timedelta(days=90),
        by=bureau,
        **{**HOME_TEACHING, "committee_decided_on": today - timedelta(days=95)},
    )
    on_time = open_case(
        township=township_a, reason="disability", found_on=today - timedelta(days=100), name="按时"
    )
    services.case_close(
        proof="证明材料",
        case=on_time,
        on=today - timedelta(days=90),
        by=bureau,
        **{
            **HOME_TEACHING,
            "committee_decided_on": today - timedelta(days=95),
            "home_hours_per_term": Decimal("4"),
        },
    )
    for days in (80, 65, 50, 35, 20, 5):
        if today - timedelta(days=days) >= today - timedelta(days=90):
            services.home_teaching_log_add(
                case=on_time,
                visited_on=today - timedelta(days=days),
                teacher="刘",
                hours=Decimal("2"),
                content="x",
                by=bureau,
            )
    lines = {line.case.name: line for line in home_teaching_monitor(bureau, today)}
    assert lines["落后"].overdue and lines["落后"].term_hours == 0
    assert not lines["按时"].overdue
    assert lines["按时"].next_due == today - timedelta(days=5) + timedelta(days=15)
    assert not lines["按时"].behind_plan


def test_return_does_not_move_a_record_the_user_cannot_see(
    township_a, school_a, school_b, principal_a, bureau
):
    case = open_case(township=township_a, school=school_a, by=principal_a)
    other = StudentFactory(school=school_b, id_number=case.id_number, status=Student.Status.SUSPENDED)
    with nothing_written(case, other), pytest.raises(ValidationError) as exc:
        services.case_return(
            case=case,
            school=school_a,
            on=RETURNED,
            stage="primary",
            grade=3,
            late_reason="补录",
            by=principal_a,
        )
    assert school_b.name not in messages(exc)
    services.case_return(case=case, school=school_a, on=RETURNED, by=bureau)  # the bureau may
    other.refresh_from_db()
    assert other.school == school_a


@pytest.mark.parametrize("same_school", [True, False])
def test_a_return_starts_a_new_enrolment_spell(school_a, school_b, bureau, same_school):
    """A child still on the roll as enrolled (long absent) keeps no old enrolment date after the return (issue
    18, outside attack): the return is the start of the new spell, at the same school or another."""
    student = StudentFactory(school=school_b, status=Student.Status.ENROLLED, enrolled_on=date(2019, 9, 1))
    services.long_absence_mark(student=student, since=FOUND - timedelta(days=30), by=bureau)
    case = services.case_open(
        by=bureau, student=student, found_on=FOUND, found_by="school_report", reason="other"
    )
    services.case_return(case=case, school=school_b if same_school else school_a, on=RETURNED, by=bureau)
    student.refresh_from_db()
    assert (student.status, student.enrolled_on) == (Student.Status.ENROLLED, RETURNED)
