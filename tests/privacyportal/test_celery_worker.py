"""A real Celery worker, on the Redis broker, sends what ``queue_sms`` queued.

The worker runs in a thread of this process (``start_worker``), so the
``settings`` overrides made here (the file backend in ``tmp_path``) apply to it.
"""

import json
import logging
import os
import threading
import time
from datetime import datetime

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from privacyportal import celery_app, sms
from privacyportal.tasks import send_sms_task

PHONE = "+8613800138000"
CODE = "715204"
BODY = f"Your verification code is {CODE}. It expires in 15 minutes."
WAIT_SECONDS = 20
# start_worker sets these for the whole process; they are put back afterwards.
CELERY_ENV = (
    "CELERY_LOG_LEVEL",
    "CELERY_LOG_FILE",
    "_MP_FORK_LOGLEVEL_",
    "_MP_FORK_LOGFILE_",
    "_MP_FORK_LOGFORMAT_",
)


@pytest.fixture
def celery_leaves_logging_alone(monkeypatch):
    """Keep the embedded worker from reconfiguring the process's logging.

    With no ``setup_logging`` receiver, ``start_worker`` has Celery empty the root
    logger's handlers, set levels to the worker's and stop ``celery.task`` records
    from propagating, for every later test too. A receiver tells Celery that
    logging is already taken care of (Django's LOGGING).
    """

    def logging_is_configured(**kwargs):
        return None

    signals.setup_logging.connect(logging_is_configured, weak=False)
    for name in CELERY_ENV:
        monkeypatch.setenv(name, os.environ.get(name, ""))
    try:
        yield
    finally:
        signals.setup_logging.disconnect(logging_is_configured)
        logging.captureWarnings(False)  # start_worker turned it on


def wait_for_json_files(directory, timeout=WAIT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if directory.is_dir():
            found = sorted(directory.glob("*.json"))
            if found:
                return found
        time.sleep(0.1)
    raise AssertionError(f"no SMS file appeared in {directory} within {timeout} s")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_queued_sms_through_the_file_backend(
    settings, tmp_path, celery_leaves_logging_alone
):
    if not settings.REDIS_URL:
        pytest.fail(
            "REDIS_URL is not set: this test needs a real Redis broker, "
            "e.g. REDIS_URL=redis://127.0.0.1:6379/15 (see the Makefile's test target)."
        )
    assert celery_app.conf.broker_url == settings.REDIS_URL == settings.CELERY_BROKER_URL
    assert celery_app.conf.broker_url.startswith("redis://")
    assert celery_app.conf.task_always_eager is False  # the conftest leaves it off for this marker

    settings.SMS_BACKEND = "privacyportal.sms.backends.filebased.SmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"

    runs = []

    def record_run(sender=None, task=None, args=None, **kwargs):
        if task is not None and task.name == send_sms_task.name:
            runs.append(
                {
                    "pid": os.getpid(),
                    "thread": threading.get_ident(),
                    "args": tuple(args or ()),
                    "argsrepr": getattr(task.request, "argsrepr", None),
                }
            )

    signals.task_prerun.connect(record_run, weak=False)
    try:
        # Leftovers from an earlier, interrupted run would otherwise be sent too.
        celery_app.control.purge()
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            with transaction.atomic():
                sms.queue_sms(to=PHONE, body=BODY)
                time.sleep(0.5)
                assert not settings.SMS_FILE_PATH.exists(), "sent before the transaction committed"
            files = wait_for_json_files(settings.SMS_FILE_PATH)
    finally:
        signals.task_prerun.disconnect(record_run)

    # Sent once, by the worker thread in this process, which got masked arguments for display.
    assert len(files) == 1, files
    assert sorted(settings.SMS_FILE_PATH.iterdir()) == files  # no .part file left behind
    assert len(runs) == 1, runs
    (run,) = runs
    assert run["pid"] == os.getpid()
    assert run["thread"] != threading.main_thread().ident
    assert run["args"] == (PHONE, BODY)
    assert run["argsrepr"] is not None
    assert CODE not in run["argsrepr"]
    assert PHONE not in run["argsrepr"]

    payload = json.loads(files[0].read_text(encoding="utf-8"))
    assert payload["to"] == PHONE
    assert payload["body"] == BODY
    assert datetime.fromisoformat(payload["sent_at"]).tzinfo is not None
    assert set(payload) == {"to", "body", "sent_at"}


class FailsOnceBackend:
    """Stands in for an SMS provider that refuses the first message, then accepts."""

    calls = 0

    def send_messages(self, messages):
        type(self).calls += 1
        if type(self).calls == 1:
            raise ConnectionError("provider unavailable")
        from privacyportal.sms.backends.filebased import SmsBackend

        return SmsBackend().send_messages(messages)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_retried_sms_keeps_its_arguments_masked_and_is_sent_once(
    settings, tmp_path, celery_leaves_logging_alone
):
    settings.SMS_BACKEND = f"{__name__}.FailsOnceBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    FailsOnceBackend.calls = 0
    published = []

    def record_publish(sender=None, headers=None, **kwargs):
        if sender == send_sms_task.name:
            published.append(headers.get("argsrepr"))

    signals.before_task_publish.connect(record_publish, weak=False)
    try:
        celery_app.control.purge()
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            with transaction.atomic():
                sms.queue_sms(to=PHONE, body=BODY)
            files = wait_for_json_files(settings.SMS_FILE_PATH)
    finally:
        signals.before_task_publish.disconnect(record_publish)

    assert FailsOnceBackend.calls == 2
    assert len(files) == 1
    # The first publish and the retry both show only the masked number, never the code.
    assert len(published) == 2, published
    for argsrepr in published:
        assert CODE not in argsrepr and PHONE not in argsrepr
        assert sms.mask_phone(PHONE) in argsrepr
