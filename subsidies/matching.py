"""Data matching (数据比对): another department's list, keyed by ID number, against our students and payments.

Three findings answer the bureau's two tests: students on the list not paid an aid the list's category
qualifies them for this term, one finding per aid with the reason (应助尽助: no one missed; the meal money every
rural pupil gets does not count as a 低保 child's aid), students aided under the list's category whom the list no longer confirms (精准资助: no one aided
who is not eligible), and list IDs with no student here (perhaps studying outside the county). A bad row is
reported on its own; the rest of the list is still matched. Changing categories from a list is a separate,
explicit step (`match_apply`).
"""

from __future__ import annotations

from datetime import date
from typing import IO

from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from portal.access import can_run_data_matching
from portal.excel import ExcelError, cell_text, read_rows, write_sheet
from portal.services import service
from students import id_numbers
from students import services as student_services
from students.models import Student, StudentCategory
from subsidies import eligibility
from subsidies.facts import facts_on
from subsidies.models import (
    LOAN_AID_TYPES,
    AidPolicy,
    AidType,
    DisbursementBatch,
    MatchResult,
    MatchRun,
    Payment,
    term_label,
    term_start,
)

ID_HEADERS = ("身份证", "证件号", "公民身份号码", "id number", "id_number")
NAME_HEADERS = ("姓名", "name")


def _find(header: list[str], names: tuple[str, ...]) -> int | None:
    for index, text in enumerate(header):
        if any(name in text.lower() for name in names):
            return index
    return None


# A child has received an aid when its payment is paid or on its way (not yet sent, or at the bank); held and
# failed money has not.
RECEIVED = (Payment.Status.PAID, Payment.Status.PENDING, Payment.Status.SENT)


def unset_for_category(category: str, on: date) -> list[AidPolicy]:
    """The rows the category qualifies for whose amount the county has not entered: nobody can be paid them,
    so they are named once for the run rather than against every child."""
    return [
        p
        for p in AidPolicy.objects.valid_on(on).filter(amount__isnull=True, categories__contains=[category])
        if p.aid_type not in LOAN_AID_TYPES
    ]


def unpaid_aids(students: list[Student], *, category: str, school_year: int, term: str) -> dict[int, list]:
    """Student id -> [(aid type, why it was not paid)]: every aid the list's `category` qualifies the student
    for on the term's reference date (per the eligibility rules, with the category the list confirms) that
    they did not receive this term. An aid every student gets (the nutrition plan) is not the category's
    aid, so its meal money makes no 低保 child "aided". An aid whose amount the county has not entered is
    left to the run's note (`unset_for_category`); one whose school fee is not recorded is listed."""
    if not students:
        return {}
    on = term_start(school_year, term)
    ids = [s.pk for s in students]
    policies = eligibility.policies_on(on)
    state = facts_on(ids, on)
    payments = {
        (p.student_id, p.aid_type): p
        for p in Payment.objects.in_term(school_year, term).filter(student_id__in=ids).order_by("pk")
    }
    batches = set(
        DisbursementBatch.objects.filter(school_year=school_year, term=term).values_list(
            "aid_type", flat=True
        )
    )
    received: dict[int, dict[str, int]] = {}
    for row in (
        Payment.objects.filter(student_id__in=ids)
        .exclude(school_year=school_year, term=term)
        .exclude(status=Payment.Status.HELD)
        .values("student_id", "aid_type")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        received.setdefault(row["student_id"], {})[row["aid_type"]] = row["n"]
    found: dict[int, list] = {}
    for student in students:
        facts = state.get(student.pk)
        if facts is None:
            continue
        decisions = eligibility.eligible_aids(
            student,
            on,
            policies=policies,
            facts=facts,
            categories=facts.categories | {category},
            terms_received=received.get(student.pk, {}),
        )
        for decision in decisions:
            if category not in decision.policy.categories:
                continue
            if decision.facts.get("unknown") == "amount":
                continue
            payment = payments.get((student.pk, decision.aid_type))
            if payment is not None and payment.status in RECEIVED:
                continue
            found.setdefault(student.pk, []).append(
                (
                    decision.aid_type,
                    _why_unpaid(decision, payment, facts, category, on, decision.aid_type in batches),
                )
            )
    return found


def _why_unpaid(decision, payment, facts, category: str, on: date, has_batch: bool) -> str:
    p = {
        "aid": AidType(decision.aid_type).label,
        "category": StudentCategory.Category(category).label,
        "date": on,
    }
    if not decision.payable:
        return _("%(aid)s: cannot be paid: %(why)s.") % {**p, "why": decision.unknown_amount_reason}
    p["amount"] = decision.amount_per_term
    if payment is not None and payment.status == Payment.Status.FAILED:
        return _("%(aid)s (%(amount)s yuan): the transfer failed: %(why)s") % {
            **p,
            "why": payment.failure_reason or "—",
        }
    if payment is not None:
        return _("%(aid)s (%(amount)s yuan): held: %(why)s") % {**p, "why": payment.flag_reason or "—"}
    if category not in facts.categories:
        return (
            _(
                "%(aid)s (%(amount)s yuan): not recorded as %(category)s on %(date)s in the registry, so the draw "
                "left the child out."
            )
            % p
        )
    if not has_batch:
        return _("%(aid)s (%(amount)s yuan): no batch of this aid for this term yet.") % p
    return _("%(aid)s (%(amount)s yuan): not in this term's batch (drawn on its reference date).") % p


@service(allowed=can_run_data_matching, refusal=gettext_lazy("Only bureau staff may do this."))
def match_upload(
    *, upload: IO[bytes], source: str, category: str, school_year: int, term: str, by, file_name: str = ""
) -> MatchRun:
    try:
        rows = read_rows(upload)
    except ExcelError as exc:
        raise ValidationError(str(exc)) from exc
    if not rows:
        raise ValidationError(_("The file is empty."))
    header = [cell_text(c) for c in rows[0]]
    id_col = _find(header, ID_HEADERS)
    if id_col is None:
        raise ValidationError(
            _("The list has no ID number column: the first row must name it (for example 身份证号).")
        )
    name_col = _find(header, NAME_HEADERS)
    run = MatchRun(
        source=source,
        category=category,
        school_year=school_year,
        term=term,
        file_name=file_name[:200],
        list_rows=max(0, len(rows) - 1),
        by=by,
    )
    unset = unset_for_category(category, term_start(school_year, term))
    if unset:
        run.note = (
            _("Not checked, their amount is not set: the county enters it in the policy table: %(rules)s.")
            % {"rules": "、".join(str(p) for p in unset)}
        )[:500]
    run.full_clean()
    run.save()

    results: list[MatchResult] = []
    listed: dict[str, tuple[int, str]] = {}
    for number, row in enumerate(rows[1:], start=2):
        cells = [cell_text(c) for c in row] + [""] * len(header)
        raw, name = cells[id_col], cells[name_col] if name_col is not None else ""
        if not raw and not name:
            continue
        try:
            value = id_numbers.parse(raw).value
        except ValidationError as exc:
            results.append(
                MatchResult(
                    run=run,
                    kind=MatchResult.Kind.INVALID,
                    id_number=raw[:40],
                    name=name[:50],
                    row_number=number,
                    message=(_("Row %(row)s: %(error)s") % {"row": number, "error": exc.messages[0]})[:300],
                )
            )
            continue
        listed.setdefault(value, (number, name))

    students = {s.id_number: s for s in Student.objects.filter(id_number__in=listed)}
    unpaid = unpaid_aids(list(students.values()), category=category, school_year=school_year, term=term)
    for value, (number, name) in listed.items():
        student = students.get(value)
        if student is None:
            results.append(
                MatchResult(
                    run=run,
                    kind=MatchResult.Kind.NOT_FOUND,
                    id_number=value,
                    name=name[:50],
                    row_number=number,
                    message=_("No student with this ID number in the county: perhaps studying elsewhere."),
                )
            )
            continue
        for aid_type, message in unpaid.get(student.pk, []):
            results.append(
                MatchResult(
                    run=run,
                    kind=MatchResult.Kind.UNAIDED,
                    student=student,
                    id_number=value,
                    name=student.name,
                    row_number=number,
                    aid_type=aid_type,
                    message=message[:300],
                )
            )
    unconfirmed = (
        Payment.objects.in_term(school_year, term)
        .payable()
        .filter(category=category)
        .exclude(student__id_number__in=listed)
        .select_related("student")
        .order_by("student_id")
        .distinct("student_id")
    )
    for payment in unconfirmed:
        results.append(
            MatchResult(
                run=run,
                kind=MatchResult.Kind.UNCONFIRMED,
                student=payment.student,
                id_number=payment.student.id_number,
                name=payment.student.name,
                message=(
                    _("Aided as %(category)s (%(aid)s) but not on the list.")
                    % {"category": payment.get_category_display(), "aid": payment.get_aid_type_display()}
                )[:300],
            )
        )
    MatchResult.objects.bulk_create(results, batch_size=2000)
    return run


@service(allowed=can_run_data_matching, refusal=gettext_lazy("Only bureau staff may do this."))
def match_apply(*, run: MatchRun, result_ids: list[int], valid_from: date, by) -> int:
    """Reviewed step: give the run's category to the chosen students on the list who lack it."""
    chosen = list(
        run.results.filter(pk__in=result_ids, kind=MatchResult.Kind.UNAIDED, applied=False).select_related(
            "student"
        )
    )
    if not chosen:
        raise ValidationError(_("Choose at least one student on the list who is not aided."))
    added = 0
    for result in chosen:
        has = (
            StudentCategory.objects.filter(student=result.student, category=run.category)
            .on(valid_from)
            .exists()
        )
        if not has:
            student_services.category_add(
                student=result.student,
                category=run.category,
                valid_from=valid_from,
                source=(_("Data matching: %(run)s") % {"run": run})[:100],
                by=by,
            )
            added += 1
        result.applied = True
        result.save(update_fields=["applied"])
    return added


def match_workbook(run: MatchRun) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    for kind in MatchResult.Kind:
        ws = wb.create_sheet(str(kind.label)[:31])
        rows = run.results.filter(kind=kind).order_by("row_number", "pk")
        write_sheet(
            ws,
            [_("Row"), _("Name"), _("ID number"), _("Aid"), _("Message")],
            (
                [
                    r.row_number or "",
                    r.name,
                    id_numbers.mask(r.id_number),
                    str(AidType(r.aid_type).label) if r.aid_type else "",
                    r.message,
                ]
                for r in rows
            ),
            title=f"{run.get_source_display()} · {run.get_category_display()} · {term_label(run.school_year, run.term)}",
            widths=[8, 12, 22, 20, 60],
        )
    return wb
