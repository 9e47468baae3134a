from celery import shared_task

from dropout_control import matching, services
from dropout_control.models import HouseholdRegisterUpload


@shared_task(acks_late=True)
def compare_household_register(upload_id: int) -> str:
    """Run one household-register comparison. Idempotent: a finished or running one is left as it is."""
    upload = HouseholdRegisterUpload.objects.select_related("uploaded_by").get(pk=upload_id)
    if upload.status != HouseholdRegisterUpload.Status.PENDING:
        return upload.status
    return matching.run(upload).status


@shared_task
def check_watches() -> int:
    """Beat, every night: watches whose month went unconfirmed raise their case again."""
    return services.watches_check()


@shared_task
def purge_register_files() -> int:
    """Beat, every night: household lists' files that outlived their comparison are deleted."""
    return matching.register_files_purge()


@shared_task
def resolve_enrolled_suspects() -> int:
    """Beat, every night: suspected dropouts now on a school's roll are cleared, the school named."""
    from dropout_control.services.suspects import suspects_resolve_enrolled

    return suspects_resolve_enrolled()
