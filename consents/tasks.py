from celery import shared_task

from . import services


@shared_task(bind=True, autoretry_for=(Exception,), max_retries=5, retry_backoff=True)
def policy_version_sms_task(self, version_id: int) -> int:
    """Thin and idempotent: each batch marks whom it texted, so a rerun picks up the rest."""
    batch_size = services.POLICY_SMS_BATCH
    sent = 0
    while count := services.policy_version_sms_batch(version_id=version_id, batch_size=batch_size):
        sent += count
        if count < batch_size:
            break
    return sent
