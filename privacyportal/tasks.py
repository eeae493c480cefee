from celery import Task, shared_task
from django.core.exceptions import ImproperlyConfigured


class RedactedArgsTask(Task):
    """Keeps the masked argsrepr given at queue time when the task is retried.

    Celery rebuilds a retried message from the request, which drops argsrepr,
    so without this the retry would publish the number and code in clear.
    """

    def retry(self, *args, **kwargs):
        kwargs.setdefault("argsrepr", self.request.argsrepr or "<redacted>")
        kwargs.setdefault("kwargsrepr", self.request.kwargsrepr or "<redacted>")
        return super().retry(*args, **kwargs)


@shared_task(
    bind=True,
    base=RedactedArgsTask,
    autoretry_for=(Exception,),
    dont_autoretry_for=(ImproperlyConfigured,),
    retry_backoff=True,
    retry_jitter=True,
    max_retries=5,
)
def send_sms_task(self, to: str, body: str) -> None:
    from .sms import send_sms

    # Returns nothing on purpose: Celery logs a task's return value, and the body holds a code.
    send_sms(to=to, body=body)


class PurgeFailed(Exception):
    """A purge target failed; its PurgeRun row holds the error."""


@shared_task(
    bind=True,
    autoretry_for=(Exception,),
    retry_backoff=300,
    retry_jitter=True,
    max_retries=3,
)
def purge_expired_task(self) -> list[str]:
    """Daily (CELERY_BEAT_SCHEDULE): apply every storage period. Thin and idempotent:
    a retry finds only what is still past its period."""
    from .retention import purge_run

    results = purge_run()
    failed = [result.target for result in results if result.error]
    if failed:
        raise PurgeFailed(f"Purge failed for: {', '.join(failed)}")
    # Counts only: safe for Celery's log.
    return [result.line for result in results]


@shared_task(bind=True, ignore_result=True)
def worker_heartbeat_task(self) -> None:
    """On the beat schedule: a worker that runs it tells /health/ it is alive."""
    from .health import heartbeat_record

    heartbeat_record(hostname=self.request.hostname or "")
