"""What the aid pages share."""

from django.shortcuts import get_object_or_404

from subsidies.models import DisbursementBatch

PAGE_SIZE = 50


def visible_batch(request, pk: int) -> DisbursementBatch:
    return get_object_or_404(DisbursementBatch.objects.visible_to(request.user), pk=pk)
