"""Issue 11, finding 5: a batch's history must not show a principal other schools' pupils and reasons."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from students.models import Stage
from subsidies import services
from subsidies.models import AidType, BatchEvent, Payment

PA = "poverty_alleviated"


@pytest.fixture
def batch(bureau, make_student, school_a, school_b):
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="甲生一")
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_a, name="甲生二")
    make_student(Stage.PRIMARY, categories=[PA], boarding=True, school=school_b, name="乙生一")
    batch = services.batch_generate(
        aid_type=AidType.BOARDER_ALLOWANCE, school_year=2022, term="autumn", by=bureau
    )
    for name, reason in (("乙生一", "乙校：父母离异另有资助"), ("甲生二", "甲校：已转学")):
        student = Payment.objects.get(batch=batch, student__name=name).student
        services.batch_remove_student(batch=batch, student=student, reason=reason, by=bureau)
    return batch


def test_principal_reads_no_other_schools_steps_through_the_api(principal_a, batch):
    client = APIClient()
    client.force_authenticate(principal_a)
    response = client.get(f"/api/subsidies/batches/{batch.pk}/steps/")
    assert response.status_code == 200
    steps = response.json()
    assert "乙校" not in str(steps)
    school_b_pupils = {e.student_id for e in BatchEvent.objects.filter(student__school__name="乙镇中心小学")}
    assert school_b_pupils and not {s["student"] for s in steps} & school_b_pupils
    # The batch's own steps and the principal's own pupil's step are still there.
    assert {s["action"] for s in steps} >= {"generated", "removed"}
    assert "甲校：已转学" in str(steps)


def test_principal_sees_no_other_schools_pupils_on_the_batch_page(principal_a_client, batch):
    page = principal_a_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    assert "乙生一" not in page and "乙校" not in page
    assert "甲生二" in page and "甲校：已转学" in page


def test_bureau_still_sees_every_step(bureau_client, batch):
    page = bureau_client.get(reverse("subsidies:batch_detail", args=[batch.pk])).content.decode()
    assert "乙生一" in page and "甲生二" in page
