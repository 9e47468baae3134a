from celery import shared_task
from django.contrib.auth import get_user_model

from subsidies import services
from subsidies.models import BatchEvent, DisbursementBatch


@shared_task(acks_late=True)
def draw_batch(batch_id: int, user_id: int) -> int:
    """Fill a draft batch from eligibility. Idempotent: a batch already drawn is left as it is."""
    batch = DisbursementBatch.objects.get(pk=batch_id)
    if batch.steps.filter(action=BatchEvent.Action.GENERATED).exists():
        return batch.payments.count()
    return services.batch_draw(batch=batch, by=get_user_model().objects.get(pk=user_id))
