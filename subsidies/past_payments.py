"""Past payments: reading the national aid system's export (全国学生资助管理信息系统) of the terms before the
county used the portal, so that a county that starts now builds its earlier years' reports from records.

The file has one payment a row: 身份证号, 姓名, 资助项目 (the aid's Chinese name), 学年 (2022-2023), 学期
(秋季/春季), 金额, 发放日期. `check` reads it and says, row by row, what would be recorded and what is refused
and why; it writes nothing. The service (`subsidies.services.past.past_payments_import`) writes the file's
payments only when no row is refused, so that a file is recorded whole or not at all.

A past payment is recorded as the register had the child then: the school and stage of the child's spell on
the roll during that term (`students.Enrollment`), never today's row. A child who was not on that term's roll
was not paid by this county, whatever the file says.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal.excel import ExcelError, cell_text, read_numbered_rows, write_sheet
from students import id_numbers
from students.models import Enrollment, Stage, Student
from subsidies.models import (
    FEN,
    LOAN_AID_TYPES,
    AidPolicy,
    AidType,
    DisbursementBatch,
    PayeeKind,
    Payment,
    PolicyStage,
    Term,
    term_end,
    term_label,
    term_start,
)
from subsidies.selectors import exclusive_with

# The export's columns, as the national system titles them.
COLUMNS = {
    "id_number": "身份证号",
    "name": "姓名",
    "aid": "资助项目",
    "school_year": "学年",
    "term": "学期",
    "amount": "金额",
    "paid_on": "发放日期",
}
TERMS = {"秋季": Term.AUTUMN, "秋季学期": Term.AUTUMN, "春季": Term.SPRING, "春季学期": Term.SPRING}
# 2022-2023, 2022—2023学年, 2022至2023: both years, as the national export writes them. A bare year is refused:
# "2023" is 2022-2023 to whoever counts the spring term's calendar year and 2023-2024 to whoever counts autumn's.
SCHOOL_YEAR = re.compile(r"([0-9]{4})\s*[-—–~～至/]\s*([0-9]{4})\s*(?:学年)?", re.ASCII)
BARE_YEAR = re.compile(r"[0-9]{4}\s*(?:学年)?", re.ASCII)
DAY = re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?")
# Who is paid, by the policy table's row for the aid and stage (a school-if-meals aid went to the school).
PAYEES = {
    AidPolicy.Payee.PERSON: PayeeKind.PERSON,
    AidPolicy.Payee.SCHOOL: PayeeKind.SCHOOL,
    AidPolicy.Payee.CANTEEN: PayeeKind.CANTEEN,
    AidPolicy.Payee.SCHOOL_IF_MEALS: PayeeKind.SCHOOL,
}
# The largest amount the payments table holds (14 digits, 2 of them fen).
MAX_AMOUNT = Decimal("999999999999.99")


@dataclass
class PastPayment:
    """One accepted row: the payment it will be, as the register had the child in that term."""

    row: int
    student: Student
    aid_type: str
    school_year: int
    term: str
    amount: Decimal
    paid_on: date
    school_id: int
    stage: str
    payee: str


@dataclass
class Refusal:
    row: int
    reason: str

    def __str__(self) -> str:
        return _("Row %(row)s: %(reason)s") % {"row": self.row, "reason": self.reason}


@dataclass
class Check:
    """What a file would record (`accepted`) and what it refuses (`refused`), row by row."""

    accepted: list[PastPayment] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def amount(self) -> Decimal:
        return sum((p.amount for p in self.accepted), Decimal("0.00"))

    def terms(self) -> list[dict]:
        """Per term and aid: the payments and amount the file holds (what the imported batches will hold)."""
        groups: dict[tuple, dict] = {}
        for p in self.accepted:
            key = (p.school_year, p.term, p.aid_type)
            group = groups.setdefault(
                key,
                {
                    "school_year": p.school_year,
                    "term": p.term,
                    "term_label": term_label(p.school_year, p.term),
                    "aid_type": p.aid_type,
                    "aid_type_display": str(AidType(p.aid_type).label),
                    "payments": 0,
                    "amount": Decimal("0.00"),
                },
            )
            group["payments"] += 1
            group["amount"] += p.amount
        return [groups[key] for key in sorted(groups, key=lambda k: (k[0], k[1] == Term.SPRING, k[2]))]


# --- The file ---------------------------------------------------------------------------------------------


def aid_names() -> dict[str, str]:
    """The aid's name as the national system writes it (our Chinese label), or our code -> aid type."""
    names = {}
    for aid_type in AidType:
        if aid_type in LOAN_AID_TYPES:
            continue
        with translation.override("zh-hans"):
            names[str(aid_type.label)] = aid_type.value
        names[aid_type.value] = aid_type.value
    return names


def template_workbook() -> Workbook:
    """The empty file a clerk fills, or checks the national system's export against."""
    wb = Workbook()
    ws = wb.active
    ws.title = _("Past payments")
    write_sheet(ws, list(COLUMNS.values()), [])
    return wb


def _columns(header: list[str]) -> dict[str, int]:
    found, errors = {}, []
    for key, title in COLUMNS.items():
        hits = [index for index, text in enumerate(header) if text.strip() == title]
        if len(hits) > 1:
            errors.append(
                _("The file has the column “%(column)s” %(n)s times; it must appear once.")
                % {"column": title, "n": len(hits)}
            )
        elif not hits:
            errors.append(_("The file has no column “%(column)s”.") % {"column": title})
        else:
            found[key] = hits[0]
    if errors:
        raise ValidationError(errors)
    return found


def _school_year(text: str) -> int | None:
    match = SCHOOL_YEAR.fullmatch(text.strip())
    if match is None:
        return None
    first = int(match.group(1))
    if int(match.group(2)) != first + 1:
        return None
    return first if 2000 <= first <= 2100 else None


# An amount as the export writes it: ASCII digits, thousands commas in groups of three if any (the export's
# text cells read 1,250.00), a point with one or two decimals. Nothing else Python's Decimal would also take:
# 1_000, full-width digits (１０００), 1e3, +250, NaN, inf.
AMOUNT = re.compile(r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]{1,2})?", re.ASCII)


def _amount(value: Any) -> Decimal | None:
    """The amount exactly as the cell holds it, in yuan with at most two decimals (to the fen); None if it
    is not a positive amount written as a plain decimal number."""
    if isinstance(value, bool):
        return None
    text = repr(value) if isinstance(value, float) else cell_text(value)
    if isinstance(value, float) and text.endswith(".0"):
        text = text[:-2]
    if not AMOUNT.fullmatch(text):
        return None
    amount = Decimal(text.replace(",", ""))
    if amount <= 0 or amount > MAX_AMOUNT:
        return None
    return amount.quantize(FEN)


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = DAY.fullmatch(cell_text(value))
    if match is None:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def read_file(upload: IO[bytes]) -> tuple[dict[str, int], list[tuple[int, list[Any]]]]:
    """The header's columns and the data rows (with their Excel row numbers), or ValidationError."""
    try:
        rows = read_numbered_rows(upload)
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    if len(rows) < 2:
        raise ValidationError(_("The file holds no payment."))
    return _columns([cell_text(c) for c in rows[0][1]]), rows[1:]


# --- The rows, checked against the register and the payments recorded ----------------------------------


class _Known:
    """What the rows are checked against, read in a few queries for the whole file."""

    def __init__(self, id_numbers_in_file: set[str]) -> None:
        self.students = {s.id_number: s for s in Student.objects.filter(id_number__in=id_numbers_in_file)}
        ids = [s.pk for s in self.students.values()]
        self.spells: dict[int, list[Enrollment]] = defaultdict(list)
        for spell in Enrollment.objects.filter(student_id__in=ids).enrolled().order_by("valid_from"):
            self.spells[spell.student_id].append(spell)
        # (student, aid, year, term) already recorded, and the aids a student holds in a term (held aside).
        self.paid: set[tuple] = set()
        self.holding: dict[tuple, set[str]] = defaultdict(set)
        for student_id, aid_type, year, term, status in Payment.objects.filter(
            student_id__in=ids
        ).values_list("student_id", "aid_type", "school_year", "term", "status"):
            self.paid.add((student_id, aid_type, year, term))
            if status != Payment.Status.HELD:
                self.holding[(student_id, year, term)].add(aid_type)
        self.drawn = set(
            DisbursementBatch.objects.filter(kind=DisbursementBatch.Kind.DRAWN).values_list(
                "aid_type", "school_year", "term"
            )
        )
        # (student, aid, year, term) accepted from the file so far -> its row.
        self.in_file: dict[tuple, int] = {}
        self._exclusive: dict[str, dict] = {}
        self._payees: dict[tuple, str] = {}
        # (aid, stage, valid_from, valid_to) of every row of the policy table: which stages an aid reaches.
        self.policies = list(AidPolicy.objects.values_list("aid_type", "stage", "valid_from", "valid_to"))

    def spell_in_term(self, student: Student, school_year: int, term: str) -> Enrollment | None:
        """The child's spell on the roll during the term: the one on its first day, else the first one after."""
        start, end = term_start(school_year, term), term_end(school_year, term)
        during = [
            s
            for s in self.spells[student.pk]
            if s.valid_from <= end and (s.valid_to is None or s.valid_to >= start)
        ]
        return during[0] if during else None

    def stages(self, aid_type: str, school_year: int, term: str) -> set[str]:
        """The stages the policy table gives the aid to during the term; where the table does not reach back
        to the term (rows from 2022 on, a 2021 file), the stages of its rows of any date."""
        start, end = term_start(school_year, term), term_end(school_year, term)
        rows = [row for row in self.policies if row[0] == aid_type]
        during = {
            stage
            for _aid, stage, valid_from, valid_to in rows
            if valid_from <= end and (valid_to is None or valid_to >= start)
        }
        return during or {stage for _aid, stage, _from, _to in rows}

    def exclusive(self, aid_type: str) -> dict:
        if aid_type not in self._exclusive:
            self._exclusive[aid_type] = exclusive_with(aid_type)
        return self._exclusive[aid_type]

    def payee(self, aid_type: str, stage: str, school_year: int, term: str) -> str:
        key = (aid_type, stage, school_year, term)
        if key not in self._payees:
            policy = (
                AidPolicy.objects.valid_on(term_start(school_year, term))
                .filter(aid_type=aid_type, stage=stage)
                .order_by("tier")
                .first()
            )
            self._payees[key] = PAYEES.get(policy.payee, PayeeKind.PERSON) if policy else PayeeKind.PERSON
        return self._payees[key]


def check(upload: IO[bytes], *, today: date | None = None) -> Check:
    """Every row of the file, accepted as the payment it would be or refused with its reason. Writes nothing."""
    today = today or timezone.localdate()
    cols, rows = read_file(upload)
    names = aid_names()

    def cell(row: list[Any], key: str) -> Any:
        index = cols[key]
        return row[index] if index < len(row) else None

    known = _Known({id_numbers.normalize(cell_text(cell(row, "id_number"))) for _number, row in rows})
    result = Check()
    for number, row in rows:
        outcome = _row(number, row, cell, names, known, today)
        if isinstance(outcome, PastPayment):
            result.accepted.append(outcome)
        else:
            result.refused.extend(Refusal(number, reason) for reason in outcome)
    return result


def _row(number: int, row, cell, names, known: _Known, today: date) -> PastPayment | list[str]:
    """The row's payment, or the reasons it is refused (every one found, so that a clerk mends them at once)."""
    reasons: list[str] = []
    id_number = id_numbers.normalize(cell_text(cell(row, "id_number")))
    student = known.students.get(id_number)
    if not id_number:
        reasons.append(_("the ID number is missing."))
    elif student is None:
        reasons.append(
            _("no student with ID number %(id)s is on the county's register.")
            % {"id": id_numbers.mask(id_number)}
        )
    name = cell_text(cell(row, "name"))
    if student is not None and name.replace(" ", "") != student.name.replace(" ", ""):
        reasons.append(
            _("the name “%(name)s” is not the register's name for this ID number (%(registered)s).")
            % {"name": name or "—", "registered": student.name}
        )
    aid_text = cell_text(cell(row, "aid"))
    aid_type = names.get(aid_text)
    if aid_type is None:
        reasons.append(_("unknown aid “%(aid)s”.") % {"aid": aid_text or "—"})
    year_text = cell_text(cell(row, "school_year"))
    school_year = _school_year(year_text)
    if school_year is None and BARE_YEAR.fullmatch(year_text.strip()):
        year = int(year_text.strip()[:4])
        reasons.append(
            _(
                "the school year “%(year)s” is one year only: it could be %(before)s or %(after)s. Write both "
                "years, as the national export does (%(after)s)."
            )
            % {
                "year": year_text,
                "before": f"{year - 1}-{year}",
                "after": f"{year}-{year + 1}",
            }
        )
    elif school_year is None:
        reasons.append(
            _("the school year “%(year)s” is not one (write it as 2022-2023).") % {"year": year_text or "—"}
        )
    term_text = cell_text(cell(row, "term"))
    term = TERMS.get(term_text.replace(" ", ""))
    if term is None:
        reasons.append(_("the term “%(term)s” is neither 秋季 nor 春季.") % {"term": term_text or "—"})
    amount_cell = cell(row, "amount")
    amount = _amount(amount_cell)
    if amount is None:
        reasons.append(
            _(
                "the amount “%(amount)s” is not a positive amount in yuan written as a plain number: digits "
                "0-9, at most two decimals, thousands commas allowed (1,250.00)."
            )
            % {"amount": cell_text(amount_cell) or "—"}
        )
    paid_cell = cell(row, "paid_on")
    paid_on = _day(paid_cell)
    if paid_on is None:
        reasons.append(_("the payment date “%(day)s” is not a date.") % {"day": cell_text(paid_cell) or "—"})
    if school_year is None or term is None:
        return reasons
    label = term_label(school_year, term)
    start, end = term_start(school_year, term), term_end(school_year, term)
    if end >= today:
        reasons.append(
            _("the %(term)s has not ended (it ends on %(end)s): only past terms are imported.")
            % {"term": label, "end": end.isoformat()}
        )
        return reasons
    if paid_on is not None and (paid_on < start or paid_on > today):
        reasons.append(
            _("the payment date %(day)s is outside the %(term)s and today (from %(start)s).")
            % {"day": paid_on.isoformat(), "term": label, "start": start.isoformat()}
        )
    if student is None or aid_type is None:
        return reasons
    spell = known.spell_in_term(student, school_year, term)
    if spell is None:
        reasons.append(
            _("%(name)s was not on the county's roll during the %(term)s.")
            % {"name": student.name, "term": label}
        )
    aid_label = AidType(aid_type).label
    stages = known.stages(aid_type, school_year, term)
    if spell is not None and spell.stage not in stages:
        reasons.append(
            _(
                "%(name)s was on the roll as a pupil of %(stage)s in the %(term)s, and %(aid)s is not an aid of "
                "that stage (the policy table gives it to %(stages)s)."
            )
            % {
                "name": student.name,
                "stage": Stage(spell.stage).label,
                "term": label,
                "aid": aid_label,
                "stages": "、".join(str(PolicyStage(s).label) for s in PolicyStage.values if s in stages)
                or "—",
            }
        )
    key = (student.pk, aid_type, school_year, term)
    if key in known.in_file:
        reasons.append(
            _("%(name)s's %(aid)s of the %(term)s is already on row %(first)s of this file.")
            % {"name": student.name, "aid": aid_label, "term": label, "first": known.in_file[key]}
        )
    elif key in known.paid:
        reasons.append(
            _("%(name)s's %(aid)s of the %(term)s is already recorded: one payment per aid and term.")
            % {"name": student.name, "aid": aid_label, "term": label}
        )
    elif (aid_type, school_year, term) in known.drawn:
        reasons.append(
            _("the %(aid)s of the %(term)s was drawn in the portal: its payments are recorded in that batch.")
            % {"aid": aid_label, "term": label}
        )
    held = known.holding[(student.pk, school_year, term)]
    others = known.exclusive(aid_type)
    clash = next((other for other in sorted(held) if other in others), None)
    if clash is not None:
        reasons.append(
            _(
                "%(name)s already receives %(other)s in the %(term)s, which excludes %(aid)s (%(group)s): a "
                "student receives only one of them."
            )
            % {
                "name": student.name,
                "other": AidType(clash).label,
                "aid": aid_label,
                "term": label,
                "group": others[clash].name,
            }
        )
    if reasons:
        return reasons
    # Later rows of the file meet this one as a payment of the term.
    known.in_file[key] = number
    held.add(aid_type)
    return PastPayment(
        row=number,
        student=student,
        aid_type=aid_type,
        school_year=school_year,
        term=term,
        amount=amount,
        paid_on=paid_on,
        school_id=spell.school_id,
        stage=spell.stage,
        payee=known.payee(aid_type, spell.stage, school_year, term),
    )
