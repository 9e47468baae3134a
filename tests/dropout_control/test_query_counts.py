"""Every list page and API list of dropout control runs as many queries for 20 rows as for 1 (no N+1), and
no more than the portal's goal of 10 (session, user and sign-in checks included)."""

from __future__ import annotations

import io
import itertools
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from dropout_control import matching, services
from dropout_control.models import ZeroReport
from tests.dropout_control.factories import HOME_TEACHING, open_case
from tests.factories import CategoryFactory, SchoolFactory, StudentFactory, make_id_number

pytestmark = pytest.mark.django_db

GOAL = 10
# The case page is a record, not a list: with its forms, team, visits, periods and change history it needs
# more than a list, but as many for 20 visits as for 1.
LIMITS = {"case_detail": 20}
_births = (date(2012, 1, 1) + timedelta(days=i) for i in itertools.count())


def _today() -> date:
    return timezone.localdate()


def _xlsx(rows) -> io.BytesIO:
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "乡镇", "村", "脱贫户"])
    for row in rows:
        ws.append(list(row))
    buffer = io.BytesIO()
    wb.save(buffer)
    buffer.seek(0)
    return buffer


class Rows:
    """Adds n more records of one kind, and says which URL lists them."""

    def __init__(self, ctx):
        self.ctx = ctx

    def case(self):
        ctx = self.ctx
        case = open_case(
            township=ctx["school"].township, school=ctx["school"], found_on=_today() - timedelta(days=40)
        )
        services.case_add_visit(
            case=case,
            visited_on=_today() - timedelta(days=35),
            visitors="班主任",
            result="劝返",
            by=ctx["by"],
        )
        return case

    def cases(self, n):
        for _ in range(n):
            self.case()

    def visits(self, n):
        """Visits, team members, home visits and periods of one case (the case page's lists)."""
        ctx = self.ctx
        case = ctx.setdefault("one_case", self.case())
        for i in range(n):
            services.case_add_visit(
                case=case,
                visited_on=_today() - timedelta(days=i),
                visitors=f"老师{i}",
                result="劝",
                by=ctx["by"],
            )

    def watches(self, n):
        """Cases whose child returned and is watched (the school's list, the ledger's state column)."""
        for _ in range(n):
            case = self.case()
            services.case_return(
                case=case,
                school=self.ctx["school"],
                on=_today() - timedelta(days=30),
                stage="primary",
                grade=2,
                by=self.ctx["by"],
            )

    def closings(self, n):
        for _ in range(n):
            services.case_close_request(
                case=self.case(),
                outcome="transferred_out",
                outcome_note="广东",
                on=_today() - timedelta(days=1),
                proof="转学证明",
                by=self.ctx["by"],
            )

    def home_teaching(self, n):
        for _ in range(n):
            case = self.case()
            services.case_close(
                proof="证明材料",
                case=case,
                on=_today() - timedelta(days=20),
                by=self.ctx["by"],
                **{**HOME_TEACHING, "committee_decided_on": _today() - timedelta(days=30)},
            )
            services.home_teaching_log_add(
                case=case,
                visited_on=_today() - timedelta(days=5),
                teacher="刘",
                hours=Decimal("2"),
                content="识字",
                by=self.ctx["by"],
            )

    def zero_schools(self, n):
        """Schools of the township, every other one with a zero report for last month."""
        month = (_today().replace(day=1) - timedelta(days=1)).replace(day=1)
        for i in range(n):
            school = SchoolFactory(township=self.ctx["school"].township)
            if i % 2 == 0:
                ZeroReport.objects.create(month=month, school=school)

    def uploads(self, n, per_upload=1):
        ctx = self.ctx
        for _ in range(n):
            rows = [
                (make_id_number(next(_births)), "赵六", ctx["school"].township.name, "上坪村", "是")
                for _ in range(per_upload)
            ]
            ctx["upload"] = matching.household_register_upload(
                file=_xlsx(rows), file_name="户籍.xlsx", as_of=_today(), by=ctx["by"]
            )

    def register_rows(self, n):
        """One new upload of n rows (a suspected dropout each): its page counts them by township."""
        self.uploads(1, per_upload=n)

    def absences(self, n):
        for _ in range(n):
            student = StudentFactory(school=self.ctx["school"])
            services.long_absence_mark(
                student=student, since=_today() - timedelta(days=20), by=self.ctx["by"]
            )

    def flagged(self):
        student = StudentFactory(school=self.ctx["school"])
        CategoryFactory(student=student, category="left_behind")
        CategoryFactory(student=student, category="in_difficulty")
        return student

    def roster(self, n):
        for _ in range(n):
            student = self.flagged()
            for day in (1, 2):
                services.care_record_add(
                    student=student,
                    visited_on=_today() - timedelta(days=day),
                    teacher="王老师",
                    content="家访",
                    by=self.ctx["by"],
                )

    def care_records(self, n):
        """Care records of one child (the child's page) and so of the county (the records list)."""
        ctx = self.ctx
        student = ctx.setdefault("child", self.flagged())
        for i in range(n):
            services.care_record_add(
                student=student,
                visited_on=_today() - timedelta(days=i),
                teacher=f"老师{i}",
                content="家访",
                by=ctx["by"],
            )


def _url(name, ctx):
    if name == "upload_detail":
        return reverse("dropout:upload_detail", args=[ctx["upload"].pk])
    if name == "case_detail":
        return reverse("dropout:case_detail", args=[ctx["one_case"].pk])
    if name == "care_student":
        return reverse("dropout:care_student", args=[ctx["child"].pk])
    if name.startswith("/"):
        return name
    return reverse(f"dropout:{name}")


CASES = [
    ("index", "cases"),
    ("case_list", "cases"),
    ("ledger", "cases"),
    ("case_detail", "visits"),
    ("register", "uploads"),
    ("upload_detail", "register_rows"),
    ("suspect_list", "uploads"),
    ("absence_list", "absences"),
    ("care_roster", "roster"),
    ("care_student", "care_records"),
    ("/api/dropout/cases/", "cases"),
    ("/api/dropout/cases/?status=open", "cases"),
    ("/api/dropout/suspects/", "uploads"),
    ("/api/dropout/uploads/", "uploads"),
    ("/api/dropout/ledger/", "cases"),
    ("/api/dropout/dashboard/", "cases"),
    ("/api/dropout/long-absences/", "absences"),
    ("/api/dropout/care-records/", "care_records"),
    ("/api/dropout/care-roster/", "roster"),
    ("watch_list", "watches"),
    ("closing_list", "closings"),
    ("home_teaching", "home_teaching"),
    ("zero_reports", "zero_schools"),
    ("ledger_print", "watches"),
    ("/api/dropout/closing-requests/", "closings"),
    ("/api/dropout/zero-reports/", "zero_schools"),
    ("/api/dropout/zero-reports/status/", "zero_schools"),
    ("/api/dropout/cases/?stage=watched", "watches"),
]


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(queries)


@pytest.mark.parametrize(("name", "kind"), CASES, ids=[c[0] for c in CASES])
def test_query_count_is_the_same_for_1_and_20_rows(
    name, kind, bureau, bureau_client, school_a, django_assert_max_num_queries
):
    ctx = {"by": bureau, "school": school_a}
    rows = Rows(ctx)
    bureau_client.get(reverse("dropout:index"))  # the session's first write is not the page's
    getattr(rows, kind)(1)
    one = _count(bureau_client, _url(name, ctx))
    getattr(rows, kind)(19 if kind != "register_rows" else 20)
    with django_assert_max_num_queries(LIMITS.get(name, GOAL)):
        assert bureau_client.get(_url(name, ctx)).status_code == 200
    twenty = _count(bureau_client, _url(name, ctx))
    assert twenty == one


@pytest.mark.parametrize("who", ["township_client", "principal_a_client"])
@pytest.mark.parametrize("name", ["care_roster", "/api/dropout/care-roster/"])
def test_care_roster_is_flat_for_other_roles_too(request, who, name, bureau, school_a):
    client = request.getfixturevalue(who)
    rows = Rows({"by": bureau, "school": school_a})
    client.get(reverse("dropout:index"))
    rows.roster(1)
    one = _count(client, _url(name, {}))
    rows.roster(19)
    assert _count(client, _url(name, {})) == one <= GOAL


def test_care_roster_counts_care_records_only_for_the_page(
    bureau_client, bureau, school_a, settings, monkeypatch, django_assert_max_num_queries
):
    """Annotating the whole roster (every flagged child's care records) is what made it slow: the care-record
    count is computed over the page's ids only, and the roster's total is counted once."""
    monkeypatch.setattr("portal.lists.DEFAULT_PAGE_SIZE", 2)
    rows = Rows({"by": bureau, "school": school_a})
    rows.roster(5)
    bureau_client.get(reverse("dropout:index"))
    with CaptureQueriesContext(connection) as queries:
        body = bureau_client.get(reverse("dropout:care_roster")).content.decode()
    sqls = [q["sql"] for q in queries.captured_queries]
    annotated = [s for s in sqls if "dropout_control_carerecord" in s and "students_student" in s]
    assert len(annotated) == 1 and "LIMIT" not in annotated[0]
    assert '"students_student"."id" IN (' in annotated[0]
    counts = [s for s in sqls if "COUNT(" in s and "students_studentcategory" in s]
    assert len(counts) == 1 and "dropout_control_carerecord" not in counts[0]
    assert len(re.findall(r'href="/dropout/care/\d+/"', body)) == 2
    assert '<span class="num">5</span>' in body


def test_care_roster_api_page_keeps_order_flags_and_figures(bureau, school_a):
    from rest_framework.test import APIClient

    rows = Rows({"by": bureau, "school": school_a})
    rows.roster(3)
    plain = StudentFactory(school=school_a, name="普通娃")
    lapsed = StudentFactory(school=school_a, name="过期娃")
    CategoryFactory(student=lapsed, category="left_behind", valid_to=_today() - timedelta(days=1))
    client = APIClient()
    client.force_authenticate(bureau)
    data = client.get("/api/dropout/care-roster/").json()
    assert data["count"] == 3
    names = [r["name"] for r in data["results"]]
    assert plain.name not in names and lapsed.name not in names
    expected = sorted(data["results"], key=lambda r: (r["grade"], r["name"], r["id"]))
    assert data["results"] == expected
    for row in data["results"]:
        assert row["care_flags"] == ["in_difficulty", "left_behind"]
        assert row["care_count"] == 2 and row["last_care"] == (_today() - timedelta(days=1)).isoformat()
