"""Posting deletion notices over HTTP, with no database access: the signed message
(shaped after the OpenDSR erasure request), the process's keep-alive client through
``privacyportal.outgoing``, the posting threads, the batch size and the backoff. The
notice rows, what a batch claims and how its outcomes are recorded, are
``requests.propagation``'s."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import httpx
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from privacyportal.outgoing import outgoing_client

if TYPE_CHECKING:
    # For the annotations only: the notice comes loaded, this module never queries.
    from .models import DeletionNotice

SIGNATURE_HEADER = "X-PrivacyPortal-Signature"
# Each post names its attempt in a header (the body stays the same message on every attempt);
# the recipient's confirmation signs that number and the time it was sent.
ATTEMPT_HEADER = "X-PrivacyPortal-Attempt"
TIMESTAMP_HEADER = "X-PrivacyPortal-Timestamp"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_sign(body: bytes, secret: str, *, timestamp: str, attempt: str) -> str:
    """What a recipient's confirmation is signed with: its time and attempt with the body."""
    return sign(f"{timestamp}.{attempt}.".encode() + body, secret)


def callback_url(notice: DeletionNotice) -> str:
    path = reverse("notice_callback", kwargs={"key": notice.idempotency_key})
    return settings.PORTAL_BASE_URL.rstrip("/") + path


def notice_body(notice: DeletionNotice) -> bytes:
    """An OpenDSR-style erasure request; the portal's own fields sit under ``extensions``."""
    message = {
        "api_version": "0.1",
        "subject_request_id": str(notice.idempotency_key),
        "subject_request_type": "erasure",
        "submitted_time": notice.created_at.isoformat(),
        "subject_identities": [
            {
                "identity_type": "controller_customer_id",
                "identity_value": value,
                "identity_format": "raw",
            }
            for value in notice.subject_identifiers
        ],
        "status_callback_urls": [callback_url(notice)],
        "extensions": {
            "privacyportal": {
                "categories": notice.categories,
                "request_reference": str(notice.request.reference),
                "recipient": notice.recipient.name,
            }
        },
    }
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


_clients: dict[int, httpx.Client] = {}
_pools: dict[int, ThreadPoolExecutor] = {}
_clients_lock = threading.Lock()

# A batch's notices are posted by this many threads over the process's one keep-alive
# client: the wait for one recipient's answer overlaps the work on the next notice.
POST_THREADS = 4
BATCH_MAX = 50


def _client() -> httpx.Client:
    """One keep-alive client per process (forked workers get their own), behind the guard
    that lets it reach only allowed addresses and never follows a redirect."""
    pid = os.getpid()
    client = _clients.get(pid)
    if client is None:
        with _clients_lock:
            client = _clients.get(pid)
            if client is None:
                client = outgoing_client(timeout=settings.NOTICE_TIMEOUT)
                _clients[pid] = client
    return client


def pool() -> ThreadPoolExecutor:
    """The posting threads, one pool per process (threads do not survive a fork)."""
    pid = os.getpid()
    pool = _pools.get(pid)
    if pool is None:
        with _clients_lock:
            pool = _pools.get(pid)
            if pool is None:
                pool = ThreadPoolExecutor(POST_THREADS, thread_name_prefix="notice-post")
                _pools[pid] = pool
    return pool


def batch_size() -> int:
    """How many notices one claim takes: as many as the threads can post within half the
    lease even if every recipient took the whole timeout, so that the sweep never re-queues
    a batch that is still being posted (and never fewer than one round of the threads)."""
    rounds = max(1, int(settings.NOTICE_LEASE // (2 * settings.NOTICE_TIMEOUT)))
    return min(BATCH_MAX, POST_THREADS * rounds)


def backoff(attempts: int) -> timedelta:
    """Exponential with full jitter: base·2^(n-1), capped, times a random factor in [0.5, 1]."""
    delay = min(
        settings.NOTICE_BACKOFF_BASE * 2 ** max(attempts - 1, 0), settings.NOTICE_BACKOFF_MAX
    )
    return timedelta(seconds=delay * (0.5 + random.random() / 2))  # noqa: S311  (jitter, not security)


@dataclass(frozen=True)
class Outcome:
    """What one post did; ``requests.propagation`` records it on the notice."""

    notice_id: int
    started: datetime
    status_code: int | None
    error: str
    duration: int


def post(notice: DeletionNotice) -> Outcome:
    """One signed POST (no database here: it runs in a posting thread)."""
    started = timezone.now()
    if not notice.recipient.secret:
        # Never post unsigned: the recipient could not tell the notice is ours.
        return Outcome(notice.pk, started, None, "no signing secret", 0)
    body = notice_body(notice)
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": str(notice.idempotency_key),
        ATTEMPT_HEADER: str(notice.attempt_number),
        SIGNATURE_HEADER: sign(body, notice.recipient.secret),
    }
    clock = time.perf_counter()
    status_code, error = None, ""
    try:
        response = _client().post(notice.recipient.endpoint, content=body, headers=headers)
        status_code = response.status_code
        if not 200 <= status_code < 300:
            error = f"HTTP {status_code}"
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    return Outcome(
        notice.pk, started, status_code, error, int((time.perf_counter() - clock) * 1000)
    )
