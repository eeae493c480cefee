from celery import shared_task


@shared_task(bind=True, autoretry_for=(Exception,), max_retries=5, retry_backoff=True)
def policy_version_sms_task(self, version_id: int) -> int:
    """Thin and idempotent: each batch marks whom it texted, so a rerun picks up the rest."""
    # In the body (the Celery rule of DESIGN §3): the services queue this task.
    from .services import POLICY_SMS_BATCH, policy_version_sms_batch

    sent = 0
    while count := policy_version_sms_batch(version_id=version_id, batch_size=POLICY_SMS_BATCH):
        sent += count
        if count < POLICY_SMS_BATCH:
            break
    return sent
