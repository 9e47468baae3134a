"""Needy-student identification (家庭经济困难学生认定, issue 17): a school year from the family's application to
the county's confirmation, the refusals (nothing written), the one list of identified students, and the
confirmed level in the eligibility rule (a test per Pengshui tier of the national grant)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from students.models import Enrollment, Stage, StudentCategory
from subsidies import eligibility, selectors, services
from subsidies.eligibility import Code
from subsidies.facts import DECIDING
from subsidies.identification import publicity_rows
from subsidies.models import Identification, IdentificationLevel, IdentificationRound
from tests.factories import CategoryFactory
from tests.refusals import nothing_written

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("during_school_year_2025")]

YEAR = 2025  # the 2025-2026 school year: every date below is past
ON = date(YEAR, 10, 1)  # the autumn term's reference date
SPECIAL, DIFFICULT, GENERAL = (
    IdentificationLevel.SPECIAL,
    IdentificationLevel.DIFFICULT,
    IdentificationLevel.GENERAL,
)


def apply(student, by, **extra):
    fields = {
        "student": student,
        "school_year": YEAR,
        "applied_on": date(YEAR, 9, 3),
        "family_members": 5,
        "family_income": Decimal("18000.00"),
        "hardship_reasons": "父亲务工受伤，家庭收入骤减",
        "guardian_name": "张大山",
        "guardian_declared": True,
    } | extra
    return services.identification_apply(by=by, **fields)


def review(identification, by, result=SPECIAL):
    return services.identification_review(
        by=by,
        identification=identification,
        members="班主任王老师、任课教师李老师、家长代表赵某、学生代表孙某",
        result=result,
        reviewed_on=date(YEAR, 9, 8),
    )


def publicise(school, by, starts_on=date(YEAR, 9, 10), ends_on=date(YEAR, 9, 16)):
    return services.identification_publicise(
        by=by, school=school, school_year=YEAR, starts_on=starts_on, ends_on=ends_on
    )


def decide(identification, by, level=SPECIAL):
    return services.identification_decide(
        by=by, identification=identification, level=level, decided_on=date(YEAR, 9, 18)
    )


def identified(student, by, bureau, level=SPECIAL):
    """A student through every step to the county's confirmation at `level`."""
    found = apply(student, by)
    review(found, by, result=level)
    publicise(student.school, by)
    decide(found, by, level=level)
    return services.identification_confirm(by=bureau, identification=found)


# --- The walk -----------------------------------------------------------------------------------------------


def test_a_school_year_walks_from_application_to_county_confirmation(
    make_student, school_a, principal_a, bureau
):
    student = make_student(Stage.SENIOR, school=school_a)
    found = apply(student, principal_a)
    assert found.status == Identification.Status.APPLIED and found.school == school_a
    assert found.effective_from == date(YEAR, 9, 1)
    review(found, principal_a, result=DIFFICULT)
    assert publicise(school_a, principal_a) == 1
    objection = services.identification_objection_add(
        by=principal_a, identification=found, raised_on=date(YEAR, 9, 12), content="家中新购轿车"
    )
    services.identification_objection_resolve(
        by=principal_a,
        objection=objection,
        outcome="dismissed",
        finding="核实为亲属车辆",
        resolved_on=date(YEAR, 9, 15),
    )
    decide(found, principal_a, level=DIFFICULT)
    confirmed = services.identification_confirm(by=bureau, identification=found)
    assert confirmed.status == Identification.Status.CONFIRMED
    assert confirmed.confirmed_level == DIFFICULT
    # Every step is in the change history.
    assert Identification.pgh_event_model.objects.filter(pgh_obj_id=found.pk).count() >= 5


def test_the_county_confirms_the_level_on_the_publicity_and_no_other(
    make_student, school_a, principal_a, bureau
):
    found = apply(make_student(Stage.SENIOR, school=school_a), principal_a)
    review(found, principal_a)
    publicise(school_a, principal_a)
    decide(found, principal_a, level=SPECIAL)
    found.refresh_from_db()
    with nothing_written(found), pytest.raises(ValidationError) as refused:
        services.identification_confirm(by=bureau, identification=found, level=GENERAL)
    assert "重新公示" in str(refused.value) and "特别困难" in str(refused.value)
    confirmed = services.identification_confirm(by=bureau, identification=found, level=SPECIAL)
    assert (confirmed.school_level, confirmed.confirmed_level, confirmed.publicity_level) == (SPECIAL,) * 3


def test_a_level_decided_after_the_publicity_goes_on_a_new_publicity_before_the_county_confirms(
    make_student, school_a, principal_a, bureau, principal_a_client
):
    """The class proposed 特别困难 and the 公示 showed it; the school then decides 一般困难: the county cannot
    confirm a level the families never saw. The printed 公示 still shows what was posted; a new 公示 of the new
    level (from the decision on) lets the county confirm it."""
    student = make_student(Stage.SENIOR, school=school_a)
    found = apply(student, principal_a)
    review(found, principal_a, result=SPECIAL)
    publicise(school_a, principal_a)
    decide(found, principal_a, level=GENERAL)
    found.refresh_from_db()
    with nothing_written(found), pytest.raises(ValidationError) as refused:
        services.identification_confirm(by=bureau, identification=found)
    assert "重新公示" in str(refused.value)
    posted = publicity_rows(selectors.publicity_list(YEAR, school_a, user=principal_a))
    assert [row[3] for row in posted] == ["特别困难"]
    page = principal_a_client.get(
        reverse("subsidies:identification_detail", args=[found.pk])
    ).content.decode()
    assert "须重新公示后县级才能确认" in page
    api = principal_a_client.get(f"/api/subsidies/identifications/{found.pk}/").json()
    assert (api["publicity_level"], api["school_level"]) == (SPECIAL, GENERAL)
    with pytest.raises(ValidationError) as early:
        publicise(school_a, principal_a, starts_on=date(YEAR, 9, 17), ends_on=date(YEAR, 9, 23))
    assert "公示不能早于" in str(early.value)
    assert publicise(school_a, principal_a, starts_on=date(YEAR, 9, 19), ends_on=date(YEAR, 9, 25)) == 1
    posted = publicity_rows(selectors.publicity_list(YEAR, school_a, user=principal_a))
    assert [(row[3], row[5]) for row in posted] == [("一般困难", f"{YEAR}-09-19 — {YEAR}-09-25")]
    confirmed = services.identification_confirm(by=bureau, identification=found)
    assert confirmed.confirmed_level == GENERAL


# --- Refusals: a clear message, nothing written --------------------------------------------------------------


def test_an_application_for_a_student_outside_the_users_school_is_refused(
    make_student, school_b, principal_a
):
    other = make_student(Stage.SENIOR, school=school_b)
    with nothing_written(), pytest.raises(ValidationError) as refused:
        apply(other, principal_a)
    assert "不是本校学生" in str(refused.value)


def test_a_level_without_a_completed_class_review_is_refused(make_student, school_a, principal_a):
    found = apply(make_student(Stage.SENIOR, school=school_a), principal_a)
    with nothing_written(found), pytest.raises(ValidationError) as refused:
        decide(found, principal_a)
    assert "民主评议" in str(refused.value)


def test_a_publicity_shorter_than_the_countys_period_is_refused(make_student, school_a, principal_a, bureau):
    services.identification_round_set(by=bureau, school_year=YEAR, publicity_days=7)
    found = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    with nothing_written(found), pytest.raises(ValidationError) as refused:
        publicise(school_a, principal_a, starts_on=date(YEAR, 9, 10), ends_on=date(YEAR, 9, 15))
    assert "至少须持续 7 天" in str(refused.value) and "只有 6 天" in str(refused.value)
    assert publicise(school_a, principal_a, starts_on=date(YEAR, 9, 10), ends_on=date(YEAR, 9, 16)) == 1


def test_publishing_again_keeps_the_dates_of_a_publicity_already_started(make_student, school_a, principal_a):
    first = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    assert publicise(school_a, principal_a) == 1
    later = review(apply(make_student(Stage.SENIOR, school=school_a), principal_a), principal_a)
    assert publicise(school_a, principal_a, starts_on=date(YEAR, 9, 20), ends_on=date(YEAR, 9, 26)) == 1
    first.refresh_from_db()
    later.refresh_from_db()
    assert (first.publicity_from, first.publicity_to) == (date(YEAR, 9, 10), date(YEAR, 9, 16))
    assert (later.publicity_from, later.publicity_to) == (date(YEAR, 9, 20), date(YEAR, 9, 26))
    # Nothing left to publish: refused, with a message saying why, and no date moves.
    with nothing_written(first, later), pytest.raises(ValidationError) as refused:
        publicise(school_a, principal_a, starts_on=date(YEAR, 10, 1), ends_on=date(YEAR, 10, 7))
    assert "已在公示" in str(refused.value)


def test_confirming_while_an_objection_is_open_is_refused(make_student, school_a, principal_a, bureau):
    found = apply(make_student(Stage.SENIOR, school=school_a), principal_a)
    review(found, principal_a)
    publicise(school_a, principal_a)
    services.identification_objection_add(
        by=principal_a, identification=found, raised_on=date(YEAR, 9, 12), content="收入填报不实"
    )
    found = decide(found, principal_a)
    with nothing_written(found), pytest.raises(ValidationError) as refused:
        services.identification_confirm(by=bureau, identification=found)
    assert "未处理的异议" in str(refused.value)


def test_confirming_before_the_publicity_is_refused(make_student, school_a, principal_a, bureau):
    found = apply(make_student(Stage.SENIOR, school=school_a), principal_a)
    review(found, principal_a)
    found = decide(found, principal_a)
    with nothing_written(found), pytest.raises(ValidationError):
        services.identification_confirm(by=bureau, identification=found)


def test_an_application_needs_the_guardians_declaration(make_student, school_a, principal_a):
    student = make_student(Stage.SENIOR, school=school_a)
    with nothing_written(), pytest.raises(ValidationError):
        apply(student, principal_a, guardian_declared=False)


def test_a_second_annual_identification_of_the_year_is_refused(make_student, school_a, principal_a):
    student = make_student(Stage.SENIOR, school=school_a)
    apply(student, principal_a)
    with nothing_written(), pytest.raises(ValidationError):
        apply(student, principal_a)


# --- Roles ---------------------------------------------------------------------------------------------------


def test_township_officers_and_officials_do_not_run_identification(
    make_student, school_a, township_officer, official
):
    student = make_student(Stage.SENIOR, school=school_a)
    for user in (township_officer, official):
        with nothing_written(), pytest.raises(PermissionDenied):
            apply(student, user)


def test_a_principal_does_not_confirm(make_student, school_a, principal_a):
    found = apply(make_student(Stage.SENIOR, school=school_a), principal_a)
    review(found, principal_a)
    publicise(school_a, principal_a)
    found = decide(found, principal_a)
    with nothing_written(found), pytest.raises(PermissionDenied):
        services.identification_confirm(by=principal_a, identification=found)


def test_who_sees_which_identifications(
    make_student, school_a, school_b, principal_a, principal_b, township_officer, official, bureau
):
    mine = apply(make_student(Stage.SENIOR, school=school_a), principal_a)
    theirs = apply(make_student(Stage.SENIOR, school=school_b), principal_b)
    assert list(Identification.objects.visible_to(principal_a)) == [mine]
    assert list(Identification.objects.visible_to(township_officer)) == [mine]
    assert set(Identification.objects.visible_to(official)) == {mine, theirs}
    assert set(Identification.objects.visible_to(bureau)) == {mine, theirs}
    assert not Identification.objects.editable_by(official).exists()


# --- The level in eligibility: a test per Pengshui tier of the national grant ---------------------------------


def _grant(student):
    return eligibility.decide(student, "national_grant", ON)


def test_senior_high_especially_difficult_gets_the_upper_tier(make_student, school_a, principal_a, bureau):
    student = make_student(Stage.SENIOR, school=school_a)
    assert _grant(student) is None
    identified(student, principal_a, bureau, level=SPECIAL)
    grant = _grant(student)
    assert grant.amount_per_term == Decimal("1500.00") and grant.policy.tier == 1
    assert grant.level == SPECIAL
    assert any(word in grant.reason for word in ("特别困难", "Especially difficult"))


@pytest.mark.parametrize("level", [DIFFICULT, GENERAL])
def test_senior_high_difficult_and_general_get_the_lower_tier(
    make_student, school_a, principal_a, bureau, level
):
    student = make_student(Stage.SENIOR, school=school_a)
    identified(student, principal_a, bureau, level=level)
    grant = _grant(student)
    assert grant.amount_per_term == Decimal("500.00") and grant.policy.tier == 2


def test_vocational_especially_difficult_gets_the_upper_tier(make_student, school_a, principal_a, bureau):
    student = make_student(Stage.VOCATIONAL, school=school_a, grade=1)
    identified(student, principal_a, bureau, level=SPECIAL)
    grant = _grant(student)
    assert grant.amount_per_term == Decimal("1500.00") and grant.policy.tier == 1


@pytest.mark.parametrize("level", [DIFFICULT, GENERAL])
def test_vocational_difficult_and_general_get_the_lower_tier(
    make_student, school_a, principal_a, bureau, level
):
    student = make_student(Stage.VOCATIONAL, school=school_a, grade=2)
    identified(student, principal_a, bureau, level=level)
    grant = _grant(student)
    assert grant.amount_per_term == Decimal("1000.00") and grant.policy.tier == 2


def test_a_level_not_yet_confirmed_pays_nothing_and_the_rule_says_why(make_student, school_a, principal_a):
    student = make_student(Stage.SENIOR, school=school_a)
    found = apply(student, principal_a)
    review(found, principal_a)
    decide(found, principal_a)
    assert _grant(student) is None
    reasons = [d for d in eligibility.why_not(student, "national_grant", ON) if d.code == Code.NO_CATEGORY]
    assert reasons and any(word in reasons[0].reason for word in ("特别困难", "Especially difficult"))


def test_a_category_still_decides_the_tier_beside_a_lower_level(make_student, school_a, principal_a, bureau):
    student = make_student(Stage.SENIOR, school=school_a, categories=[StudentCategory.Category.DIBAO])
    identified(student, principal_a, bureau, level=GENERAL)
    grant = _grant(student)
    assert grant.amount_per_term == Decimal("1500.00") and grant.category == "dibao" and not grant.level


def test_an_in_year_change_takes_effect_from_its_date(make_student, school_a, principal_a, bureau):
    student = make_student(Stage.SENIOR, school=school_a)
    found = apply(
        student, principal_a, kind="in_year", effective_from=date(YEAR, 12, 1), applied_on=date(YEAR, 9, 3)
    )
    review(found, principal_a, result=SPECIAL)
    publicise(school_a, principal_a)
    decide(found, principal_a)
    services.identification_confirm(by=bureau, identification=found)
    assert eligibility.decide(student, "national_grant", date(YEAR, 11, 30)) is None
    assert eligibility.decide(student, "national_grant", date(YEAR + 1, 3, 1)).amount_per_term == Decimal(
        "1500.00"
    )
    # Next school year the family is identified again (re-identification each year).
    assert eligibility.decide(student, "national_grant", date(YEAR + 1, 10, 1)) is None


def test_an_in_year_change_outside_its_school_year_is_refused(make_student, school_a, principal_a):
    student = make_student(Stage.SENIOR, school=school_a)
    with nothing_written(), pytest.raises(ValidationError):
        apply(student, principal_a, kind="in_year", effective_from=date(YEAR + 1, 9, 1))


def test_a_grant_due_by_level_and_not_paid_is_on_the_principals_unaided_list(
    make_student, school_a, principal_a, bureau
):
    """The home page's eligible-but-unaided list reads the confirmed level as the eligibility rule does."""
    student = make_student(Stage.SENIOR, school=school_a)
    identified(student, principal_a, bureau, level=SPECIAL)
    states = {
        row["student_id"]: row
        for row in Enrollment.objects.filter(student=student).on(ON).values("student_id", *DECIDING)
    }
    lines = selectors.eligible_unaided(states, {school_a.pk: school_a}, {}, ON, taken={}, received={})
    grants = [line for line in lines if line.aid_type == "national_grant"]
    assert [(line.student_id, line.decision.level) for line in grants] == [(student.pk, SPECIAL)]
    assert grants[0].decision.amount_per_term == Decimal("1500.00")
    # Paid this term: off the list.
    paid = selectors.eligible_unaided(
        states, {school_a.pk: school_a}, {}, ON, taken={student.pk: {"national_grant"}}, received={}
    )
    assert "national_grant" not in {line.aid_type for line in paid}


def test_the_principals_home_page_counts_a_grant_due_by_level_this_term(make_student, school_a, bureau):
    """The same through the register the home page reads (`reports.selectors.school_unaided`, today): a
    level the county confirmed this school year, by the model (the dates of the walk are the test's)."""
    from django.utils import timezone

    from reports.selectors import school_unaided
    from students.models import school_year_of

    today = timezone.localdate()
    student = make_student(Stage.SENIOR, school=school_a)
    _term, before = school_unaided(bureau, school_a)
    assert (student.pk, "national_grant") not in {(line.student_id, line.aid_type) for line in before}
    Identification.objects.create(
        student=student,
        school=school_a,
        school_year=school_year_of(today),
        effective_from=today,
        kind=Identification.Kind.IN_YEAR,
        status=Identification.Status.CONFIRMED,
        applied_on=today,
        family_members=4,
        family_income=Decimal("12000.00"),
        hardship_reasons="母亲重病",
        guardian_name="张大山",
        guardian_declared=True,
        school_level=SPECIAL,
        confirmed_level=SPECIAL,
        confirmed_on=today,
    )
    _term, after = school_unaided(bureau, school_a)
    grants = [line for line in after if (line.student_id, line.aid_type) == (student.pk, "national_grant")]
    assert len(grants) == 1 and grants[0].decision.level == SPECIAL


# --- One list of identified students ---------------------------------------------------------------------------


def test_both_routes_give_one_list_of_identified_students(make_student, school_a, principal_a, bureau):
    by_school = make_student(Stage.SENIOR, school=school_a)
    identified(by_school, principal_a, bureau, level=DIFFICULT)
    by_list = make_student(Stage.SENIOR, school=school_a)
    CategoryFactory(
        student=by_list, category="dibao", valid_from=date(2024, 1, 1), source="民政局低保名单2025"
    )
    both = make_student(Stage.SENIOR, school=school_a, categories=["poverty_alleviated"])
    identified(both, principal_a, bureau, level=SPECIAL)
    ended = make_student(Stage.SENIOR, school=school_a)
    CategoryFactory(student=ended, category="orphan", valid_from=date(2020, 1, 1), valid_to=date(YEAR, 8, 31))
    care_only = make_student(Stage.SENIOR, school=school_a, categories=["left_behind"])
    pending = make_student(Stage.SENIOR, school=school_a)
    decide(review(apply(pending, principal_a), principal_a), principal_a)

    rows = {s.pk: s for s in selectors.identified_students(YEAR, user=bureau)}
    assert set(rows) == {by_school.pk, by_list.pk, both.pk}
    assert rows[by_school.pk].identified_level == DIFFICULT and rows[by_school.pk].identified_categories == []
    assert rows[by_list.pk].identified_level is None
    assert rows[by_list.pk].identified_categories == ["dibao"]
    assert rows[by_list.pk].category_sources == ["民政局低保名单2025"]
    assert rows[both.pk].identified_level == SPECIAL and rows[both.pk].identified_categories == [
        "poverty_alleviated"
    ]
    assert care_only.pk not in rows and ended.pk not in rows


def test_the_identified_list_is_scoped(make_student, school_a, school_b, principal_a, principal_b, bureau):
    make_student(Stage.SENIOR, school=school_a, categories=["dibao"])
    theirs = make_student(Stage.SENIOR, school=school_b, categories=["dibao"])
    assert [s.pk for s in selectors.identified_students(YEAR, user=principal_b)] == [theirs.pk]


def test_the_round_sets_the_publicity_days(bureau, principal_a):
    services.identification_round_set(by=bureau, school_year=YEAR, publicity_days=7)
    services.identification_round_set(by=bureau, school_year=YEAR, publicity_days=10, note="县资助中心通知")
    assert IdentificationRound.objects.get(school_year=YEAR).publicity_days == 10
    with nothing_written(), pytest.raises(PermissionDenied):
        services.identification_round_set(by=principal_a, school_year=YEAR, publicity_days=1)
