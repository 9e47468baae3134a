from celery import shared_task
from django.core.exceptions import ValidationError


@shared_task(acks_late=True)
def rebuild_yearend(snapshot_id: int) -> str:
    """Build one requested snapshot. Idempotent: a snapshot already ready or failed is left as it is."""
    from reports import services  # services schedule this task: imported here, not at the top (no cycle)

    return services.snapshot_build(snapshot_id=snapshot_id).status


@shared_task
def rebuild_yearend_nightly() -> list[int]:
    """Beat, every night: open a rebuild of the running school year and calendar year."""
    from reports import services

    opened = []
    for year, basis in services.nightly_years():
        try:
            opened.append(services.snapshot_request_nightly(year=year, basis=basis).pk)
        except ValidationError:
            continue  # a rebuild of that year is already running: it will publish fresh figures
    return opened


@shared_task
def warm_dashboards() -> int:
    """Beat, every few minutes: count again the dashboards read lately, so that no reader waits for them
    (`reports.selectors.warm_dashboards`)."""
    from reports import selectors

    return selectors.warm_dashboards()
