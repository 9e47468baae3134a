"""The national student-aid system (全国学生资助管理信息系统): what the county reports to it each term, and
reconciling what it holds with what the portal paid.

Out (`export_workbook`): the identified students of the school year (sheet 困难学生) and the term's paid
payments (sheet 资助发放), one row each, in the columns below. The system's own import template is not
public; these are the columns a county's 资助中心 keeps for it (the student identified by 身份证件号 and
学籍号, the school, the aid by its name and the amount to the fen). School, stage and grade are the register's at
the term's start (subsidies.facts.register_on), not today's: the report of a past term does not move when a
child is promoted. Whole ID numbers: the system needs them,
so the export is for bureau staff and logged.

Back (`reconcile`): the system's export in the same columns (a sheet 资助发放, and 困难学生 if given) is read
and compared with the portal: payments reported there and not paid here, paid here and not reported there,
amounts that differ; students identified on one side only. A header that is not the template's is refused
with the missing and unknown columns named; a row that cannot be read refuses the file with its row number.
Nothing is written: the differences are listed (page, API, .xlsx).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook

from portal.excel import MONEY_FORMAT, ExcelError, cell_text, read_numbered_sheets, write_sheet
from students import id_numbers, national_numbers
from students.importing import CATEGORY_LABEL, STAGE_LABEL
from students.models import School
from subsidies.facts import register_on
from subsidies.models import Payment, Term, term_label, term_start
from subsidies.past_payments import TERMS, _amount, _day, _school_year, aid_names
from subsidies.selectors import identified_students

PAYMENTS_SHEET = "资助发放"
STUDENTS_SHEET = "困难学生"
PAYMENT_COLUMNS = {
    "school": "学校名称",
    "national_student_number": "学籍号",
    "name": "姓名",
    "id_number": "身份证件号",
    "stage": "学段",
    "grade": "年级",
    "aid": "资助项目",
    "school_year": "学年",
    "term": "学期",
    "amount": "资助金额",
    "paid_on": "发放日期",
}
STUDENT_COLUMNS = {
    "school": "学校名称",
    "national_student_number": "学籍号",
    "name": "姓名",
    "id_number": "身份证件号",
    "stage": "学段",
    "grade": "年级",
    "school_year": "学年",
    "term": "学期",
    "basis": "认定依据",
}
TERM_WORD = {Term.AUTUMN: "秋季学期", Term.SPRING: "春季学期"}


def _year(school_year: int) -> str:
    return f"{school_year}-{school_year + 1}"


def _aid_label(aid_type: str) -> str:
    from subsidies.models import AidType

    with translation.override("zh-hans"):
        return str(AidType(aid_type).label)


def _grounds(student) -> str:
    """Why a student is identified: the county-confirmed level, and the other departments' lists."""
    from subsidies.models import IdentificationLevel

    grounds = [CATEGORY_LABEL[c] for c in student.identified_categories or ()]
    if student.identified_level:
        with translation.override("zh-hans"):
            grounds.insert(0, str(IdentificationLevel(student.identified_level).label))
    return "、".join(grounds)


def export_workbook(*, school_year: int, term: str, payments, students) -> Workbook:
    """The identified students of `school_year` among `students` and the paid `payments` of the term (both
    already scoped to the reader), in the national system's columns."""
    wb = Workbook()
    ws = wb.active
    ws.title = STUDENTS_SHEET
    # School, stage and grade as the register had them at the term's start (its reference date), not today:
    # a child promoted since is reported in the grade they were in that term.
    on = term_start(school_year, term)
    # The students identified on some day of the term (a level withdrawn before it, or effective after it, is
    # not the term's).
    chosen = list(
        identified_students(school_year, students=students, term=term).order_by("school__code", "name", "pk")
    )
    paid = list(
        payments.filter(school_year=school_year, term=term, status=Payment.Status.PAID)
        .select_related("student", "school")
        .order_by("school__code", "student__name", "aid_type", "pk")
    )
    register = register_on([s.pk for s in chosen] + [p.student_id for p in paid], on)
    schools = School.objects.in_bulk({state["school_id"] for state in register.values()})
    rows = []
    for s in chosen:
        state = register[s.pk]
        rows.append(
            [
                schools[state["school_id"]].name,
                s.national_student_number,
                s.name,
                s.id_number,
                STAGE_LABEL.get(state["stage"], state["stage"]),
                state["grade"],
                _year(school_year),
                TERM_WORD[term],
                _grounds(s),
            ]
        )
    write_sheet(ws, list(STUDENT_COLUMNS.values()), rows, widths=[20, 22, 10, 22, 6, 6, 12, 10, 24])
    ws = wb.create_sheet(PAYMENTS_SHEET)
    write_sheet(
        ws,
        list(PAYMENT_COLUMNS.values()),
        [
            [
                p.school.name,
                p.student.national_student_number,
                p.student.name,
                p.student.id_number,
                STAGE_LABEL.get(p.stage, p.stage),
                register[p.student_id]["grade"],
                _aid_label(p.aid_type),
                _year(p.school_year),
                TERM_WORD[p.term],
                p.amount,
                p.paid_on,
            ]
            for p in paid
        ],
        widths=[20, 22, 10, 22, 6, 6, 18, 12, 10, 12, 12],
        formats={9: MONEY_FORMAT},
    )
    for sheet in wb.worksheets:
        for row in sheet.iter_rows(min_row=2):
            for cell in row[1:4]:
                cell.number_format = "@"
    return wb


# --- Reconciliation ------------------------------------------------------------------------------------


@dataclass
class Difference:
    kind: str  # one of KINDS
    id_number: str
    name: str
    aid: str = ""
    term: str = ""
    reported: Decimal | None = None
    paid: Decimal | None = None

    @property
    def masked_id_number(self) -> str:
        return id_numbers.mask(self.id_number)

    @property
    def kind_display(self) -> str:
        return KINDS[self.kind]


KINDS = {
    "reported_not_paid": "系统有、平台未发放",
    "paid_not_reported": "平台已发放、系统无",
    "amount_differs": "金额不符",
    "identified_there_only": "系统认定、平台无",
    "identified_here_only": "平台认定、系统无",
}


@dataclass
class Reconciliation:
    terms: list[str] = field(default_factory=list)
    reported: int = 0
    paid: int = 0
    matched: int = 0
    differences: list[Difference] = field(default_factory=list)


def _header(sheet_name: str, header: list[str], columns: dict[str, str]) -> dict[str, int]:
    """The template's columns in the header: refused, naming the missing and unknown ones, unless the header
    is exactly the template's (in any order) and no column is given twice."""
    titles = [h.strip() for h in header if h.strip()]
    expected = list(columns.values())
    missing = [t for t in expected if t not in titles]
    unknown = [t for t in titles if t not in expected]
    doubled = sorted({t for t in titles if titles.count(t) > 1})
    errors = []
    if missing:
        errors.append(
            _("Sheet %(sheet)s lacks the columns: %(columns)s.")
            % {"sheet": sheet_name, "columns": "、".join(missing)}
        )
    if unknown:
        errors.append(
            _("Sheet %(sheet)s has columns the template does not: %(columns)s.")
            % {"sheet": sheet_name, "columns": "、".join(unknown)}
        )
    if doubled:
        errors.append(
            _("Sheet %(sheet)s has a column twice: %(columns)s.")
            % {"sheet": sheet_name, "columns": "、".join(doubled)}
        )
    if errors:
        raise ValidationError(errors)
    positions = {text.strip(): i for i, text in enumerate(header)}
    return {key: positions[title] for key, title in columns.items()}


def _read(upload: IO[bytes]) -> dict[str, list[tuple[int, list[Any]]]]:
    """The file's sheets 资助发放 (required) and 困难学生 (if given), each row with its Excel row number, through
    the portal's safe reader: size limit, formulas and the sheet's extent refused before a cell is read."""
    try:
        sheets = read_numbered_sheets(upload, [PAYMENTS_SHEET, STUDENTS_SHEET])
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    if PAYMENTS_SHEET not in sheets:
        raise ValidationError(
            _(
                "The file has no sheet %(sheet)s: use the national aid system's export in the template's layout."
            )
            % {"sheet": PAYMENTS_SHEET}
        )
    return sheets


def _portal_ids(students, payments, numbers: set[str]) -> dict[str, str]:
    """The portal's ID number of each child the national system names by a 全国学籍号 in `numbers`: the
    system keeps the ID number it was given, the 学籍号 stays the child's when the county corrects it."""
    numbers = {n for n in numbers if n}
    if not numbers:
        return {}
    found = dict(
        students.filter(national_student_number__in=numbers).values_list(
            "national_student_number", "id_number"
        )
    )
    for number, id_number in payments.filter(student__national_student_number__in=numbers).values_list(
        "student__national_student_number", "student__id_number"
    ):
        found.setdefault(number, id_number)
    return found


def _national_number(value) -> str:
    """The row's 全国学籍号, or "" when it has none that can be read (the ID number then names the child)."""
    return national_numbers.whole(cell_text(value)) or ""


def reconcile(upload: IO[bytes], *, payments, students) -> Reconciliation:
    """Compare the national system's export with the portal's paid `payments` of the same terms and its
    identified `students` (both scoped to the reader). A row is the portal's child by its 全国学籍号 first,
    then by its ID number. Raises ValidationError for a file that cannot be read."""
    sheets = _read(upload)
    rows = sheets[PAYMENTS_SHEET]
    if not rows:
        raise ValidationError(_("The sheet %(sheet)s is empty.") % {"sheet": PAYMENTS_SHEET})
    at = _header(PAYMENTS_SHEET, [cell_text(c) for c in rows[0][1]], PAYMENT_COLUMNS)
    names = aid_names()
    read: list[tuple] = []
    who: dict[str, str] = {}
    errors = []
    for number, raw in rows[1:]:

        def cell(key, raw=raw):
            return raw[at[key]] if at[key] < len(raw) else None

        problems = []
        number_id = id_numbers.whole(cell("id_number"))
        if number_id is None:
            problems.append(_("the ID number is not a valid ID number"))
        aid = names.get(cell_text(cell("aid")))
        if aid is None:
            problems.append(_("unknown aid “%(aid)s”") % {"aid": cell_text(cell("aid"))})
        year = _school_year(cell_text(cell("school_year")))
        if year is None:
            problems.append(_("the school year is not like 2022-2023"))
        term = TERMS.get(cell_text(cell("term")))
        if term is None:
            problems.append(_("the term must be 秋季学期 or 春季学期"))
        amount = _amount(cell("amount"))
        if amount is None:
            problems.append(_("the amount is not a positive amount to the fen"))
        if cell("paid_on") not in (None, "") and _day(cell("paid_on")) is None:
            problems.append(_("the payment date is not a date"))
        if problems:
            errors.append(_("Row %(row)s: %(problems)s.") % {"row": number, "problems": "；".join(problems)})
            continue
        read.append((_national_number(cell("national_student_number")), number_id, aid, year, term, amount))
        who[number_id] = cell_text(cell("name"))
    if errors:
        raise ValidationError(errors)
    portal_ids = _portal_ids(students, payments, {r[0] for r in read})
    reported: dict[tuple, Decimal] = defaultdict(Decimal)
    for national_number, number_id, aid, year, term, amount in read:
        id_number = portal_ids.get(national_number, number_id)
        reported[(id_number, aid, year, term)] += amount
        who.setdefault(id_number, who[number_id])
    terms = sorted({(year, term) for _id, _aid, year, term in reported})
    result = Reconciliation(terms=[term_label(y, t) for y, t in terms], reported=len(reported))
    paid: dict[tuple, Decimal] = defaultdict(Decimal)
    term_filter = [payments.filter(school_year=y, term=t) for y, t in terms]
    for query in term_filter:
        for id_number, name, aid, year, term, amount in query.filter(status=Payment.Status.PAID).values_list(
            "student__id_number", "student__name", "aid_type", "school_year", "term", "amount"
        ):
            paid[(id_number, aid, year, term)] += amount
            who.setdefault(id_number, name)
    result.paid = len(paid)
    for key in sorted(set(reported) | set(paid)):
        id_number, aid, year, term = key
        there, here = reported.get(key), paid.get(key)
        if there is not None and here is not None and there == here:
            result.matched += 1
            continue
        kind = (
            "amount_differs"
            if there is not None and here is not None
            else ("reported_not_paid" if here is None else "paid_not_reported")
        )
        result.differences.append(
            Difference(
                kind, id_number, who.get(id_number, ""), _aid_label(aid), term_label(year, term), there, here
            )
        )
    if STUDENTS_SHEET in sheets:
        _reconcile_identified(sheets[STUDENTS_SHEET], students, payments, result, terms)
    return result


def _reconcile_identified(rows, students, payments, result: Reconciliation, terms) -> None:
    """The 困难学生 sheet against the portal's identified students, term by term: every term of the file (its
    payments' terms and the sheet's own), so a term the sheet lists nobody for still shows the portal's."""
    if not rows:
        return
    at = _header(STUDENTS_SHEET, [cell_text(c) for c in rows[0][1]], STUDENT_COLUMNS)
    read = []
    errors = []
    for number, raw in rows[1:]:

        def cell(key, raw=raw):
            return raw[at[key]] if at[key] < len(raw) else None

        number_id = id_numbers.whole(cell("id_number"))
        year = _school_year(cell_text(cell("school_year") or ""))
        term = TERMS.get(cell_text(cell("term")))
        if number_id is None or year is None or term is None:
            errors.append(
                _(
                    "Sheet %(sheet)s, row %(row)s: the ID number, the school year or the term (秋季学期 or "
                    "春季学期) cannot be read."
                )
                % {"sheet": STUDENTS_SHEET, "row": number}
            )
            continue
        read.append(
            (
                _national_number(cell("national_student_number")),
                number_id,
                (year, term),
                cell_text(cell("name")),
            )
        )
    if errors:
        raise ValidationError(errors)
    portal_ids = _portal_ids(students, payments, {r[0] for r in read})
    there: dict[tuple[int, str], dict[str, str]] = {period: {} for period in terms}
    for national_number, number_id, period, name in read:
        there.setdefault(period, {})[portal_ids.get(national_number, number_id)] = name
    # Each term's list against the portal's list of that term (a level in force on some day of it).
    for (year, term), listed in sorted(there.items()):
        here = dict(identified_students(year, students=students, term=term).values_list("id_number", "name"))
        label = term_label(year, term)
        for id_number in sorted(set(listed) - set(here)):
            result.differences.append(
                Difference("identified_there_only", id_number, listed[id_number], term=label)
            )
        for id_number in sorted(set(here) - set(listed)):
            result.differences.append(
                Difference("identified_here_only", id_number, here[id_number], term=label)
            )


def differences_workbook(result: Reconciliation, *, full_ids: bool) -> Workbook:
    wb = Workbook()
    write_sheet(
        wb.active,
        ["差异", "身份证件号", "姓名", "资助项目", "学期（学年）", "系统金额", "平台已发金额"],
        [
            [
                KINDS[d.kind],
                d.id_number if full_ids else d.masked_id_number,
                d.name,
                d.aid,
                d.term,
                d.reported,
                d.paid,
            ]
            for d in result.differences
        ],
        title=_("National aid system against the portal: %(n)s differences") % {"n": len(result.differences)},
        widths=[18, 22, 10, 18, 22, 12, 12],
        formats={5: MONEY_FORMAT, 6: MONEY_FORMAT},
    )
    return wb
