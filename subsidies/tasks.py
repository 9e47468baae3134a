from celery import shared_task


@shared_task(acks_late=True)
def draw_batch(batch_id: int, user_id: int) -> int:
    """Fill a draft batch from eligibility, as the user who generated it. Idempotent: a batch already drawn is
    left as it is."""
    from portal.services import user_by_id
    from subsidies import services
    from subsidies.models import DisbursementBatch

    batch = DisbursementBatch.objects.get(pk=batch_id)
    if batch.is_drawn:
        return batch.payments.count()
    return services.batch_draw(batch=batch, by=user_by_id(user_id))
