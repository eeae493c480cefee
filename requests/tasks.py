from celery import shared_task

from .access_copy import build_access_copy
from .services import access_copies_due


@shared_task(
    bind=True,
    autoretry_for=(Exception,),
    max_retries=3,
    retry_backoff=True,
    retry_jitter=True,
)
def build_access_copy_task(self, copy_id: int) -> None:
    """Thin and idempotent: a copy already built (or building elsewhere) is left alone.

    A failed build marks the copy failed and raises; Celery retries it (with backoff)
    up to three times, and each retry takes the failed copy up again.
    """
    build_access_copy(copy_id)


@shared_task
def access_copies_sweep() -> None:
    """The database, not the broker, decides what still needs building (DESIGN §2 step 3)."""
    for copy_id in access_copies_due():
        build_access_copy_task.delay(copy_id)
