"""Thin, idempotent tasks. Each imports its service in its body (the Celery rule of DESIGN
§3): the services queue these tasks, and so import this module at the top."""

from celery import shared_task


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
    from .access_copy import build_access_copy

    build_access_copy(copy_id)


@shared_task
def start_access_copy_task(copy_id: int) -> None:
    """Text "being prepared", then queue the build: in this order, so that the "ready"
    text, which the build sends, always comes second."""
    from .services import access_copy_announce

    access_copy_announce(copy_id)
    build_access_copy_task.delay(copy_id)


@shared_task
def access_copies_sweep() -> None:
    """The database, not the broker, decides what still needs building (DESIGN §2 step 3)."""
    from .access_copies import access_copies_due

    for copy_id in access_copies_due():
        build_access_copy_task.delay(copy_id)


@shared_task(acks_late=True)
def deliver_notices_task(notice_ids: list[int]) -> None:
    """Thin: each notice row says whether it is due; a duplicate message finds nothing to do."""
    from .propagation import notices_deliver

    notices_deliver(notice_ids)


@shared_task
def notices_sweep() -> None:
    """Queue every notice that is due, whatever happened to its earlier message."""
    from .propagation import notices_due, queue_notices

    queue_notices(notices_due())
