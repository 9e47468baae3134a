"""Demo imports (issue 15: every demo login has something to look at on the import page).

The principal's upload of two new pupils, refused as a whole (a wrong ID number and another school's code),
so that the page shows a refused import with its rows to mend; nothing is written to the register.
Idempotent: a county that has an import already is left alone.
"""

from __future__ import annotations

import io
import random
from datetime import date

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone
from openpyxl import Workbook

from portal.models import User
from students import id_numbers, importing, services
from students.models import ImportJob, School

FILENAME = "新生名单（演示）.xlsx"


def _workbook(own: School, other: School | None, year: int) -> bytes:
    good = id_numbers.make(settings.HOME_COUNTY_CODE, date(year - 7, 3, 15), 21)
    wrong = good[:-1] + ("0" if good[-1] != "0" else "1")  # the check digit mistyped
    rows = [
        [
            wrong,
            "陈小雨",
            own.code,
            "小学",
            1,
            settings.HOME_COUNTY_CODE,
            "否",
            "留守儿童",
            own.township.name,
            "上坪村",
            "陈大山",
            "13800000001",
        ],
        [
            good,
            "刘小乐",
            (other or own).code,
            "小学",
            1,
            settings.HOME_COUNTY_CODE,
            "否",
            "",
            own.township.name,
            "下坊村",
            "刘建国",
            "",
        ],
    ]
    wb = Workbook()
    ws = wb.active
    ws.append([column[0] for column in importing.COLUMNS])
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def seed(*, rng: random.Random, stdout, scale: str) -> None:
    if ImportJob.objects.exists():
        stdout.write("imports: an import exists, left alone")
        return
    principal = User.objects.filter(role=User.Role.PRINCIPAL, school__isnull=False).order_by("pk").first()
    if principal is None:
        return
    own = principal.school
    other = School.objects.exclude(pk=own.pk).filter(school_type=own.school_type).order_by("code").first()
    upload = ContentFile(_workbook(own, other, timezone.localdate().year), name=FILENAME)
    job = services.import_start(upload=upload, by=principal)
    stdout.write(f"imports: the principal's {job.filename}: {job.get_status_display()}")
