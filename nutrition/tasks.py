from celery import shared_task

from nutrition.models import MealImport


@shared_task(acks_late=True)
def import_meals(job_id: int) -> str:
    """Run one month-of-meals import. Idempotent: a started or finished job is left as it is."""
    from nutrition import importing

    job = MealImport.objects.select_related("uploaded_by", "term").get(pk=job_id)
    if job.status != MealImport.Status.PENDING:
        return job.status
    return importing.run(job).status
