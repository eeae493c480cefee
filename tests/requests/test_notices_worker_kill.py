"""A worker killed mid-delivery and a flushed broker lose no deletion notice (DESIGN §2 step 3).

A real ``celery worker`` subprocess delivers 200 notices to a slow fake recipient. When
the recipient has confirmed some of them, it parks the next delivery (the worker has
claimed that notice and is waiting for the answer) and the test SIGKILLs the worker,
drops the parked request unanswered, and flushes Redis, so every queued message is gone.
A new worker and the sweep (run from here, as beat would) finish the job from the
database alone: the notice whose worker died is due again once its lease runs out.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import quote

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone

from consents.models import DataCategory
from privacyportal import celery_app
from requests.models import DeletionNotice, Disclosure, PrivacyRequest, Recipient
from requests.tasks import notices_sweep
from tests.accounts.factories import UserFactory
from tests.requests.factories import DeletionFactory
from tests.requests.recipient_server import DOWN, RecipientServer

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

NOTICES = 200
SECRET = "kill-test-shared-secret"
LEASE = 2
KILL_AFTER = 40  # confirmations before the kill (the brief: between ~30 and ~150)
TIMEOUT = 90


def database_url() -> str:
    """The test database (pytest-django's test_<name>), as a URL for another process."""
    db = django_settings.DATABASES["default"]
    user = quote(db.get("USER") or "", safe="")
    password = quote(db.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    name = connection.settings_dict["NAME"]
    return f"postgres://{auth}{host}:{port}/{quote(name, safe='')}"


def start_worker_process(env, log_path):
    log = open(log_path, "ab")  # noqa: SIM115  (closed with the process)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "privacyportal",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            "celery",
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel=WARNING",
        ],
        cwd=django_settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log
    return process


def stop(process):
    if process is None:
        return
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    process.log.close()


def acknowledged(privacy_request) -> int:
    return privacy_request.notices.filter(status=DeletionNotice.Status.ACKNOWLEDGED).count()


def test_killing_the_worker_and_flushing_the_broker_loses_no_notice(
    settings, live_server, tmp_path
):
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: this test needs a real Redis broker.")
    settings.PORTAL_BASE_URL = live_server.url
    broker = redis.Redis.from_url(settings.REDIS_URL)
    broker.flushdb()  # nothing left over from an earlier run
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PORTAL_BASE_URL": live_server.url,
        # The recipient is a server on this machine: let the outgoing guard reach it.
        "OUTGOING_ALLOWED_HOSTS": "127.0.0.1",
        "NOTICE_LEASE": str(LEASE),
        "NOTICE_BACKOFF_BASE": "0.2",
        "NOTICE_MAX_ATTEMPTS": "8",
        "SMS_BACKEND": "privacyportal.sms.backends.locmem.SmsBackend",
        "VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    log_path = tmp_path / "workers.log"
    first = second = None

    with RecipientServer(secret=SECRET, delay=0.02) as server:
        staff = UserFactory(is_staff=True)
        user = UserFactory()
        # In the deletion's scope below: every recipient is told.
        category = DataCategory.objects.get(code="browsing_records")
        recipients = Recipient.objects.bulk_create(
            Recipient(
                name=f"Recipient {n:03d}",
                contact=f"dpo{n}@example.com",
                endpoint=server.endpoint("/notices"),
                secret=SECRET,
                secret_set_at=timezone.now(),
            )
            for n in range(NOTICES)
        )
        Recipient.data_categories.through.objects.bulk_create(
            Recipient.data_categories.through(recipient_id=r.pk, datacategory_id=category.pk)
            for r in recipients
        )
        disclosures = Disclosure.objects.bulk_create(
            Disclosure(
                user=user,
                recipient=recipient,
                subject_identifier=f"customer-{n}",
                basis=Disclosure.Basis.LEGAL_EXCEPTION,
                legal_exception=Disclosure.LegalException.LEGAL_OBLIGATION,
                legal_note="Statutory reporting.",
            )
            for n, recipient in enumerate(recipients)
        )
        Disclosure.categories.through.objects.bulk_create(
            Disclosure.categories.through(disclosure_id=d.pk, datacategory_id=category.pk)
            for d in disclosures
        )
        server.hold(after=KILL_AFTER, then=DOWN)

        try:
            first = start_worker_process(env, log_path)
            privacy_request = DeletionFactory(user=user, approved_by=staff)
            assert privacy_request.notices.count() == NOTICES

            # The worker is mid-attempt: it claimed a notice and waits for the answer.
            assert server.held.wait(timeout=60), _tail(log_path)
            server.wait_for(server.acks_settled, timeout=10)
            at_kill = acknowledged(privacy_request)
            os.kill(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
            server.release()  # the parked request is dropped unanswered
            server.wait_for(lambda: server.held_request.answered == DOWN, timeout=5)
            broker.flushdb()  # every queued delivery message is lost
            assert 30 <= at_kill <= 150, at_kill
            held_key = server.held_request.key
            leased = DeletionNotice.objects.get(idempotency_key=held_key)
            # Claimed (attempt counted, leased) but no outcome recorded: its worker died.
            assert (leased.status, leased.attempts) == (DeletionNotice.Status.PENDING, 1)
            assert not leased.attempt_log.exists()
            assert broker.llen("celery") == 0

            second = start_worker_process(env, log_path)
            deadline = time.monotonic() + TIMEOUT
            sweeps = 0
            while acknowledged(privacy_request) < NOTICES:
                assert time.monotonic() < deadline, (
                    f"{acknowledged(privacy_request)} of {NOTICES} confirmed after "
                    f"{TIMEOUT} s and {sweeps} sweeps\n{_tail(log_path)}"
                )
                notices_sweep()  # what beat runs every minute, here every second
                sweeps += 1
                time.sleep(1)
            server.wait_for(server.acks_settled, timeout=10)
        finally:
            stop(first)
            stop(second)
            celery_app.control.purge()

    # Every notice confirmed, the request completed.
    statuses = Counter(privacy_request.notices.values_list("status", flat=True))
    assert statuses == {DeletionNotice.Status.ACKNOWLEDGED: NOTICES}
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED

    keys = {str(k) for k in privacy_request.notices.values_list("idempotency_key", flat=True)}
    assert all(r.signature_valid for r in server.requests)
    assert {r.key for r in server.requests} == keys
    # The recipient confirmed each key exactly once, and the portal took each confirmation.
    ack_counts = Counter(a.key for a in server.acks)
    assert set(ack_counts) == keys and set(ack_counts.values()) == {1}
    assert {a.status_code for a in server.acks} == {200}
    # Nothing was posted again once its confirmation had been sent.
    ack_sent = {a.key: a.sent_at for a in server.acks}
    late = [r.key for r in server.requests if r.at >= ack_sent[r.key]]
    assert late == [], late
    # Only the notice whose worker was killed needed a second post; the others went once.
    posts = Counter(r.key for r in server.requests)
    assert posts[held_key] == 2
    assert {k: n for k, n in posts.items() if n != 1} == {held_key: 2}
    leased.refresh_from_db()
    assert leased.attempts == 2  # the killed attempt counts; its outcome was never recorded
    assert [a.status_code for a in leased.attempt_log.all()] == [200]


def _tail(path, lines=40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no worker log)"
