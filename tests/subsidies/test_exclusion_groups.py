"""Issue 12, item 3: one aid of an exclusion group per student and term, and eligibility read on the term's
reference date (the student's boarding, school, stage and grade as they were then, not as they are today)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from students import register
from students.models import Stage, Student
from subsidies import eligibility, facts, services
from subsidies.models import AidExclusionGroup, AidPolicy, AidType, DisbursementBatch, Payment, Term

PA, DIBAO = "poverty_alleviated", "dibao"
AUTUMN_2022 = date(2022, 9, 1)


def save_on(student: Student, day: date) -> None:
    """Save a change to the student that takes effect on the register on `day` (as a dated transfer does)."""
    with transaction.atomic(), register.effective(day):
        student.save()


def generate(bureau, aid_type, school_year=2022, term=Term.AUTUMN):
    return services.batch_generate(aid_type=aid_type, school_year=school_year, term=term, by=bureau)


def direct_payment(student, aid_type, *, school_year=2022, term=Term.AUTUMN, status=Payment.Status.PENDING):
    """A payment written straight to the table, past every service check."""
    policy = AidPolicy.objects.filter(aid_type=aid_type, stage=student.stage).first()
    batch, _ = DisbursementBatch.objects.get_or_create(
        aid_type=aid_type, school_year=school_year, term=term, defaults={"eligibility_date": AUTUMN_2022}
    )
    return Payment.objects.create(
        batch=batch,
        student=student,
        aid_type=aid_type,
        school_year=school_year,
        term=term,
        school=student.school,
        stage=student.stage,
        policy=policy,
        amount=Decimal("100.00"),
        payee="person",
        status=status,
    )


# --- the groups are data, seeded from the Pengshui table ---------------------------------------------------


def test_pengshui_exclusion_groups_are_seeded(db):
    groups = {g.code: set(g.aid_types) for g in AidExclusionGroup.objects.all()}
    assert {AidType.BOARDER_ALLOWANCE, AidType.NON_BOARDER_ALLOWANCE, AidType.FREE_LUNCH} <= set().union(
        *(types for types in groups.values() if AidType.BOARDER_ALLOWANCE in types)
    )
    living = next(types for types in groups.values() if AidType.BOARDER_ALLOWANCE in types)
    assert living == {AidType.BOARDER_ALLOWANCE, AidType.NON_BOARDER_ALLOWANCE, AidType.FREE_LUNCH}
    # The free lunch includes the nutrition plan (已享受营养改善计划的纳入一并计算); preschool 800 replaces 660.
    assert any(types == {AidType.FREE_LUNCH, AidType.NUTRITION_PLAN} for types in groups.values())
    assert any(types == {AidType.PRESCHOOL_LIVING, AidType.PRESCHOOL_NUTRITION} for types in groups.values())


# --- the database refuses, whatever the service does ---------------------------------------------------------


def test_database_refuses_a_second_payment_of_one_exclusion_group(make_student, bureau):
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=True, rural=False)
    direct_payment(student, AidType.BOARDER_ALLOWANCE)
    with pytest.raises(IntegrityError), transaction.atomic():
        direct_payment(student, AidType.FREE_LUNCH)
    with pytest.raises(IntegrityError), transaction.atomic():
        direct_payment(student, AidType.NON_BOARDER_ALLOWANCE, status=Payment.Status.PAID)
    assert Payment.objects.filter(student=student).count() == 1


def test_database_allows_the_group_again_in_another_term_or_beside_a_held_payment(make_student, bureau):
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=True, rural=False)
    direct_payment(student, AidType.BOARDER_ALLOWANCE, status=Payment.Status.HELD)
    direct_payment(student, AidType.FREE_LUNCH)
    direct_payment(student, AidType.BOARDER_ALLOWANCE, term=Term.SPRING)
    assert Payment.objects.filter(student=student).count() == 3


def test_database_refuses_releasing_a_held_payment_into_a_taken_group(make_student, bureau):
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=True, rural=False)
    held = direct_payment(student, AidType.BOARDER_ALLOWANCE, status=Payment.Status.HELD)
    direct_payment(student, AidType.FREE_LUNCH)
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=held.pk).update(status=Payment.Status.PENDING)


def test_aids_of_different_groups_are_paid_side_by_side(make_student, bureau):
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=True, rural=True)
    direct_payment(student, AidType.BOARDER_ALLOWANCE)
    direct_payment(student, AidType.NUTRITION_PLAN)
    assert Payment.objects.filter(student=student).count() == 2


# --- the services refuse first, in Chinese ----------------------------------------------------------------


def test_the_issue_scenario_boarding_flag_changed_between_two_batches(make_student, bureau):
    """A boarder on 1 September 2022 gets the boarder allowance; the flag is changed afterwards; the free-lunch
    batch of the same term, drawn later, reads the flag as it was on 1 September and leaves the child out."""
    student = make_student(
        Stage.JUNIOR, categories=[PA], boarding=True, rural=False, enrolled_on=date(2022, 8, 20)
    )
    allowance = generate(bureau, AidType.BOARDER_ALLOWANCE)
    assert allowance.payments.get().student == student

    student.is_boarding = False
    student.save()
    lunch = generate(bureau, AidType.FREE_LUNCH)
    assert not lunch.payments.filter(student=student).exists()


def test_service_refuses_adding_a_student_whose_group_is_taken_with_a_chinese_message(make_student, bureau):
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=False, rural=False)
    direct_payment(student, AidType.BOARDER_ALLOWANCE)  # paid before the flag was corrected
    lunch = services.batch_create(aid_type=AidType.FREE_LUNCH, school_year=2022, term=Term.AUTUMN, by=bureau)
    with pytest.raises(ValidationError) as exc:
        services.batch_add_student(batch=lunch, student=student, reason="改为走读", by=bureau)
    message = " ".join(exc.value.messages)
    assert student.name in message and "寄宿生生活补助" in message and "免费午餐" in message, message
    assert not lunch.payments.exists()


def test_draw_skips_a_student_whose_group_is_taken_and_says_so(make_student, bureau):
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=False, rural=False)
    direct_payment(student, AidType.NON_BOARDER_ALLOWANCE)  # paid earlier by hand, whatever the rules said
    batch = generate(bureau, AidType.FREE_LUNCH)
    assert not batch.payments.filter(student=student).exists()
    note = batch.steps.get(action="generated").note
    assert "1 名学生本学期已享受同组资助" in note, note


# --- the student's facts on a date --------------------------------------------------------------------------


def test_facts_on_a_date_are_the_register_on_that_date(make_student, school_a, school_b):
    student = make_student(
        Stage.PRIMARY, grade=5, boarding=True, school=school_a, enrolled_on=date(2022, 3, 1)
    )
    student.grade, student.is_boarding, student.school = 6, False, school_b
    save_on(student, date(2022, 10, 15))
    before = facts.facts_on([student.pk], date(2022, 9, 1))[student.pk]
    assert (before.grade, before.is_boarding, before.school.pk) == (5, True, school_a.pk)
    on_the_day = facts.facts_on([student.pk], date(2022, 10, 15))[student.pk]
    assert (on_the_day.grade, on_the_day.is_boarding, on_the_day.school.pk) == (6, False, school_b.pk)
    assert facts.facts_on([student.pk], date(2026, 1, 1))[student.pk].grade == 6


def test_a_boarding_flag_changed_in_october_leaves_the_terms_facts_on_1_september(make_student):
    student = make_student(
        Stage.JUNIOR, categories=[PA], boarding=True, rural=False, enrolled_on=date(2022, 8, 20)
    )
    student.is_boarding = False
    save_on(student, date(2022, 10, 8))
    assert facts.facts_on([student.pk], AUTUMN_2022)[student.pk].is_boarding is True
    assert facts.facts_on([student.pk], date(2022, 10, 8))[student.pk].is_boarding is False
    paid_then = {d.aid_type for d in eligibility.eligible_aids(student, AUTUMN_2022) if d.payable}
    assert paid_then == {AidType.BOARDER_ALLOWANCE}


def test_facts_before_the_student_is_on_the_register_are_the_first_registered_state(make_student):
    student = make_student(Stage.PRIMARY, grade=2, boarding=True, enrolled_on=None)  # recorded today
    student.grade = 3
    save_on(student, timezone.localdate() + timedelta(days=1))
    state = facts.facts_on([student.pk], date(2022, 9, 1))[student.pk]
    assert (state.grade, state.is_boarding, state.stage) == (2, True, Stage.PRIMARY)


def test_facts_carry_the_categories_valid_on_the_date(make_student):
    student = make_student(Stage.PRIMARY, categories=[DIBAO], since=date(2022, 1, 1), until=date(2022, 6, 30))
    assert facts.facts_on([student.pk], date(2022, 3, 1))[student.pk].categories == {DIBAO}
    assert facts.facts_on([student.pk], date(2022, 9, 1))[student.pk].categories == set()


def test_eligibility_reads_the_boarding_flag_as_it_was_on_the_date(make_student):
    student = make_student(
        Stage.JUNIOR, categories=[PA], boarding=True, rural=False, enrolled_on=date(2022, 8, 20)
    )
    student.is_boarding = False
    student.save()
    paid_then = {d.aid_type for d in eligibility.eligible_aids(student, AUTUMN_2022) if d.payable}
    assert paid_then == {AidType.BOARDER_ALLOWANCE}
    paid_now = {d.aid_type for d in eligibility.eligible_aids(student, timezone.localdate()) if d.payable}
    assert paid_now == {AidType.FREE_LUNCH}


def test_a_student_who_left_since_the_reference_date_is_still_drawn_for_that_term(make_student, bureau):
    student = make_student(
        Stage.JUNIOR, categories=[PA], boarding=True, rural=False, enrolled_on=date(2022, 8, 20)
    )
    student.status = Student.Status.GRADUATED
    student.save()
    batch = generate(bureau, AidType.BOARDER_ALLOWANCE)
    assert batch.payments.filter(student=student).exists()


@pytest.mark.django_db(transaction=True)
def test_two_transactions_paying_one_child_two_aids_of_a_group_at_once_cannot_both_commit(make_student):
    """The trigger locks the child's row before it checks: the second transaction waits for the first, then
    sees its payment and is refused."""
    import threading

    from django.db import connection

    from subsidies import pengshui
    from tests.factories import UserFactory

    pengshui.load(AidPolicy, AidExclusionGroup)
    UserFactory(username="aid_clerk_groups", role="bureau")
    student = make_student(Stage.JUNIOR, categories=[PA], boarding=True, rural=False)
    for aid_type in (AidType.BOARDER_ALLOWANCE, AidType.FREE_LUNCH):
        DisbursementBatch.objects.create(
            aid_type=aid_type, school_year=2022, term=Term.AUTUMN, eligibility_date=AUTUMN_2022
        )
    barrier = threading.Barrier(2)
    outcomes = []

    def pay(aid_type):
        try:
            with transaction.atomic():
                barrier.wait()
                direct_payment(student, aid_type)
                barrier_wait_quietly()
            outcomes.append("committed")
        except IntegrityError:
            outcomes.append("refused")
        finally:
            connection.close()

    def barrier_wait_quietly():
        # Hold the first transaction open a moment so that the second one meets its lock.
        import time

        time.sleep(0.3)

    threads = [
        threading.Thread(target=pay, args=(a,)) for a in (AidType.BOARDER_ALLOWANCE, AidType.FREE_LUNCH)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["committed", "refused"]
    assert Payment.objects.filter(student=student).count() == 1
