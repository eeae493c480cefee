"""Keep ``api.memory``'s view of accounts right: closing or deleting one drops it everywhere.

A cache invalidation, not business logic: the services that close accounts need not
know the API remembers them.
"""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from .memory import memory


@receiver(post_save, sender=get_user_model(), dispatch_uid="api_forget_closed_user")
def _closed(sender, instance, **kwargs):
    if instance.closed_at is not None:
        pk = instance.pk
        transaction.on_commit(lambda: memory.forget(pk))


@receiver(post_delete, sender=get_user_model(), dispatch_uid="api_forget_deleted_user")
def _deleted(sender, instance, **kwargs):
    pk = instance.pk
    transaction.on_commit(lambda: memory.forget(pk))
