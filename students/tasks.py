from celery import shared_task

from students import importing
from students.models import ImportJob


@shared_task(acks_late=True)
def import_students(job_id: int) -> str:
    """Run one student import. Idempotent: a finished job is left as it is."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    if job.is_finished or job.status in (ImportJob.Status.WRITING, ImportJob.Status.PREVIEW):
        return job.status
    if job.kind != ImportJob.Kind.STUDENTS:
        from students import roll

        return roll.preview(job).status
    return importing.run(job).status


@shared_task(acks_late=True)
def apply_roll(job_id: int) -> str:
    """Write a previewed roll or student import (students.services.roll_import_apply or import_confirm set it
    WRITING). Idempotent: a finished job is left as it is."""
    from students import roll

    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    if job.status != ImportJob.Status.WRITING:
        return job.status
    if job.kind == ImportJob.Kind.STUDENTS:
        return importing.confirm(job).status
    return roll.apply(job).status


@shared_task(acks_late=True)
def apply_rollover(rollover_id: int) -> str:
    """Write a roll-over the request accepted (students.rollover.rollover_apply left it `applying`).
    Idempotent: a roll-over no longer applying is left as it is. A refusal marks it failed, with the reason."""
    from django.core.exceptions import ValidationError

    from portal.services import user_by_id
    from students import rollover
    from students.models import Rollover

    row = Rollover.objects.get(pk=rollover_id)
    if row.status != Rollover.Status.APPLYING:
        return row.status
    try:
        return rollover.rollover_run(rollover_id=rollover_id, by=user_by_id(row.applied_by_id)).status
    except ValidationError as exc:
        rollover.rollover_fail(rollover_id, " ".join(exc.messages))
    except Exception:
        from django.utils.translation import gettext as _

        rollover.rollover_fail(rollover_id, _("The roll-over stopped on an error: nothing was written."))
        raise
    return Rollover.Status.FAILED


@shared_task
def purge_import_files() -> int:
    """Beat, every night: uploaded files that outlived their import are deleted (students.services)."""
    from students import services

    return services.import_files_purge()
