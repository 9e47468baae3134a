from celery import shared_task

from students import importing
from students.models import ImportJob


@shared_task(acks_late=True)
def import_students(job_id: int) -> str:
    """Run one student import. Idempotent: a finished job is left as it is."""
    job = ImportJob.objects.select_related("uploaded_by").get(pk=job_id)
    if job.is_finished or job.status == ImportJob.Status.WRITING:
        return job.status
    return importing.run(job).status
