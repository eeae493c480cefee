from celery import shared_task

from privacyportal import sms


@shared_task(
    bind=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def send_sms_task(self, to: str, body: str) -> None:
    # Returns nothing on purpose: Celery logs a task's return value, and the body holds a code.
    sms.send_sms(to=to, body=body)
