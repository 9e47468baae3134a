"""Vocabulary shared by the aid area: aid types, stages, terms, payees, money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from students.models import Stage, StudentCategory, school_year_of

Category = StudentCategory.Category


MONEY = {"max_digits": 14, "decimal_places": 2}
FEN = Decimal("0.01")


class AidType(models.TextChoices):
    PRESCHOOL_FEE_WAIVER = "preschool_fee_waiver", _("Preschool fee waiver")
    PRESCHOOL_LIVING = "preschool_living", _("Preschool living allowance")
    PRESCHOOL_NUTRITION = "preschool_nutrition", _("Preschool nutrition plan")
    BOARDER_ALLOWANCE = "boarder_allowance", _("Boarder living allowance")
    NON_BOARDER_ALLOWANCE = "non_boarder_allowance", _("Non-boarder living allowance")
    FREE_LUNCH = "free_lunch", _("Free lunch")
    NUTRITION_PLAN = "nutrition_plan", _("Rural nutrition plan")
    TUITION_WAIVER = "tuition_waiver", _("Tuition waiver")
    TEXTBOOK_WAIVER = "textbook_waiver", _("Textbook waiver")
    ACCOMMODATION_WAIVER = "accommodation_waiver", _("Accommodation waiver")
    NATIONAL_GRANT = "national_grant", _("National grant")
    TUITION_AID = "tuition_aid", _("University tuition aid")
    FRESHMAN_TRAVEL = "freshman_travel", _("Freshman travel grant")
    MISC_FEE_WAIVER = "misc_fee_waiver", _("Miscellaneous fee waiver")
    STUDY_MATERIALS = "study_materials", _("Free study materials")
    EXERCISE_BOOKS = "exercise_books", _("Free exercise books")
    # The rural-revitalisation bureau's grant to vocational students of 脱贫户 and monitored households.
    YULU_PLAN = "yulu_plan", _("Yulu Plan")
    # Loan caps: policy rows read by the loan register (never drawn into a batch).
    CREDIT_LOAN = "credit_loan", _("Credit student loan cap")
    LOAN_TOP_UP = "loan_top_up", _("Municipal loan top-up cap")


# Aid types that are caps of the loan register, not money paid in batches.
LOAN_AID_TYPES = (AidType.CREDIT_LOAN, AidType.LOAN_TOP_UP)


class PolicyStage(models.TextChoices):
    """The registry's stages, plus university and postgraduate study (loans, tuition aid: students not in our
    schools)."""

    PRESCHOOL = Stage.PRESCHOOL.value, Stage.PRESCHOOL.label
    PRIMARY = Stage.PRIMARY.value, Stage.PRIMARY.label
    JUNIOR = Stage.JUNIOR.value, Stage.JUNIOR.label
    SENIOR = Stage.SENIOR.value, Stage.SENIOR.label
    VOCATIONAL = Stage.VOCATIONAL.value, Stage.VOCATIONAL.label
    SPECIAL = Stage.SPECIAL.value, Stage.SPECIAL.label
    HIGHER = "higher", _("Higher education")
    POSTGRADUATE = "postgraduate", _("Postgraduate")


class IdentificationLevel(models.TextChoices):
    """The school's level of a family's financial difficulty (家庭经济困难学生认定), confirmed by the county."""

    SPECIAL = "special", _("Especially difficult")
    DIFFICULT = "difficult", _("Difficult")
    GENERAL = "general", _("Generally difficult")


class Term(models.TextChoices):
    AUTUMN = "autumn", _("Autumn term")
    SPRING = "spring", _("Spring term")


def term_start(school_year: int, term: str) -> date:
    """Autumn term starts 1 September of the school year, spring term 1 March of the next calendar year."""
    return date(school_year, 9, 1) if term == Term.AUTUMN else date(school_year + 1, 3, 1)


def term_share(per_year: Decimal, term: str) -> Decimal:
    """A term's share of a year's amount, to the fen: the autumn term half of it rounded, the spring term the
    rest, so that a year's two terms add up to the year's amount (a fee of 1,200.03 is 600.02 + 600.01)."""
    autumn = (per_year / 2).quantize(FEN)
    return autumn if term == Term.AUTUMN else per_year - autumn


def term_label(school_year: int, term: str) -> str:
    return f"{school_year}-{school_year + 1} {Term(term).label}"


def term_of(day: date) -> tuple[int, str]:
    """(school year, term) a day falls in: autumn from September, spring from March, autumn again in Jan-Feb."""
    return school_year_of(day), Term.SPRING if 3 <= day.month < 9 else Term.AUTUMN


def term_end(school_year: int, term: str) -> date:
    return date(school_year + 1, 1, 31) if term == Term.AUTUMN else date(school_year + 1, 7, 31)


class PayeeKind(models.TextChoices):
    PERSON = "person", _("The student's family")
    SCHOOL = "school", _("The school")
    CANTEEN = "canteen", _("The school canteen")
