"""Deleting expired rows in bounded batches: short transactions, no long table locks."""

from django.db import transaction


def purge_in_batches(queryset, *, batch_size: int = 5000) -> int:
    """Delete every row of ``queryset`` a batch at a time; returns how many went."""
    model = queryset.model
    total = 0
    while True:
        ids = list(queryset.order_by().values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        with transaction.atomic():
            _, per_model = model._default_manager.filter(pk__in=ids).delete()
        total += per_model.get(model._meta.label, 0)
