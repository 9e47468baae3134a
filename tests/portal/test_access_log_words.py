"""Attack (issue 15): the access log's 详情 column shows our own English ("import errors", "import results",
"bank payroll file, batch 3") on the Chinese page."""

from __future__ import annotations

import re

from django.urls import reverse

from students import services
from students.models import ImportJob
from tests.students.test_importing import row, upload, xlsx


def test_the_access_log_details_are_chinese(bureau, bureau_client, school_a):
    bad = row(school_a)
    bad[0] = "123"  # not an ID number: the import is rejected, with an errors file
    job = services.import_start(upload=upload(xlsx([bad]), name="新生名单.xlsx"), by=bureau)
    assert job.status == ImportJob.Status.REJECTED
    assert bureau_client.get(reverse("students:import_errors", args=[job.pk])).status_code == 200
    page = bureau_client.get(reverse("access_log") + "?action=download").content.decode()
    cells = re.sub(r"<[^>]+>", " ", page.split("<tbody", 1)[1].split("</tbody>", 1)[0])
    assert "新生名单.xlsx" in cells
    # Expected: a Chinese detail (e.g. 导入错误文件). Actual: "import errors".
    assert "import errors" not in cells, cells
