from celery import shared_task
from django.core.exceptions import ValidationError

from reports import services


@shared_task(acks_late=True)
def rebuild_yearend(snapshot_id: int) -> str:
    """Build one requested snapshot. Idempotent: a snapshot already ready or failed is left as it is."""
    return services.snapshot_build(snapshot_id=snapshot_id).status


@shared_task
def rebuild_yearend_nightly() -> list[int]:
    """Beat, every night: open a rebuild of the running school year and calendar year."""
    opened = []
    for year, basis in services.nightly_years():
        try:
            opened.append(services.snapshot_request(year=year, basis=basis, by=None).pk)
        except ValidationError:
            continue  # a rebuild of that year is already running: it will publish fresh figures
    return opened
