"""Rate limits of the internal API, on django-ninja's throttling (issue 19 point 7).

- Per client: every call of a service token counts against ``API_RATE_LIMIT_CLIENT``
  (``ClientRateThrottle``, the API's ninja throttle; 429 with Retry-After).
- Per address: calls refused for a missing, wrong or revoked token, or a recipient's bad
  signature, count against ``API_RATE_LIMIT_AUTH_FAILURES`` (``auth_failed``); over it,
  such calls are answered 429, and a token this process does not already hold is not
  even looked up.

Counts live in the Django cache (Redis: shared by every process), in fixed windows of the
rate's period. ninja's own ``SimpleRateThrottle`` rewrites a list of every call's time on
each call, and a Redis round trip per call would cost more than the consent check itself,
so a process adds its calls to the shared count in batches of up to a thousandth of the
limit (and on every call once the count nears the limit): a few calls per process more
than the limit may pass in a window, never a multiple of it. If the cache fails, calls
are let through: Redis may vanish, and the API must keep answering from PostgreSQL.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from ninja.errors import Throttled
from ninja.throttling import BaseThrottle, SimpleRateThrottle

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def parse_rate(rate: str) -> tuple[int, int]:
    """``"100/min"`` → (100, 60), in ninja's rate format."""
    count, duration = SimpleRateThrottle.parse_rate(SimpleRateThrottle, rate)
    if not count or not duration:
        raise ValueError(f"Invalid rate: {rate!r}")
    return count, duration


def _add(key: str, calls: int, timeout: int) -> int | None:
    """Add to the shared count and return it; None when the cache does not answer."""
    try:
        try:
            return cache.incr(key, calls)
        except ValueError:
            if cache.add(key, calls, timeout):
                return calls
            return cache.incr(key, calls)
    except Exception:
        logger.warning("API rate limit not counted: the cache does not answer", exc_info=True)
        return None


def _window(duration: int, now: float) -> tuple[int, float]:
    """The fixed window ``now`` falls in, and the seconds until the next one."""
    window = int(now // duration)
    return window, (window + 1) * duration - now


@dataclass
class _Count:
    window: int
    shared: int = 0  # the cache's count when this process last added to it
    pending: int = 0  # this process's calls not added yet


class ClientRateThrottle(BaseThrottle):
    """Every call of a service token, per token, against ``API_RATE_LIMIT_CLIENT``."""

    def __init__(self) -> None:
        # Keyed by the whole caller, as api.auth does: ids come again after a flush.
        self._counts: dict[object, _Count] = {}
        self._lock = threading.Lock()
        # ninja keeps one instance for every request: what wait() answers is per thread.
        self._local = threading.local()

    def allow_request(self, request) -> bool:
        caller = getattr(request, "auth", None)
        if caller is None:
            return True
        limit, duration = parse_rate(settings.API_RATE_LIMIT_CLIENT)
        window, remaining = _window(duration, time.time())
        self._local.wait = remaining
        batch = max(1, limit // 1000)
        with self._lock:
            count = self._counts.get(caller)
            if count is None or count.window != window:
                count = self._counts[caller] = _Count(window)
            count.pending += 1
            estimate = count.shared + count.pending
            if count.pending < batch and estimate < limit:
                return True
            calls, count.pending = count.pending, 0
        key = f"api:rate:client:{caller.token_id}:{caller.prefix}:{window}"
        shared = _add(key, calls, duration + 1)
        if shared is None:
            return True
        with self._lock:
            if count.window == window:
                count.shared = shared
        return shared <= limit

    def wait(self) -> float | None:
        return getattr(self._local, "wait", None)


def client_address(request) -> str:
    """The caller's address, behind ``TRUSTED_PROXY_COUNT`` proxies (as allauth reads it)."""
    try:
        return get_adapter(request).get_client_ip(request)
    except PermissionDenied:
        return request.META.get("REMOTE_ADDR", "") or "unknown"


def _failures_key(request) -> tuple[str, int, float]:
    limit, duration = parse_rate(settings.API_RATE_LIMIT_AUTH_FAILURES)
    window, remaining = _window(duration, time.time())
    return f"api:rate:auth-failures:{client_address(request)}:{window}", duration, remaining


def refuse_if_blocked(request) -> None:
    """Raise Throttled (429) while this address is over its limit of failed calls."""
    limit, _ = parse_rate(settings.API_RATE_LIMIT_AUTH_FAILURES)
    key, _, remaining = _failures_key(request)
    try:
        failures = cache.get(key, 0)
    except Exception:
        logger.warning("API rate limit not read: the cache does not answer", exc_info=True)
        return
    if failures >= limit:
        raise Throttled(wait=math.ceil(remaining))


def auth_failed(request) -> None:
    """Count a call refused for its credentials; raise Throttled (429) once over the limit."""
    limit, _ = parse_rate(settings.API_RATE_LIMIT_AUTH_FAILURES)
    key, duration, remaining = _failures_key(request)
    failures = _add(key, 1, duration + 1)
    if failures is not None and failures > limit:
        raise Throttled(wait=math.ceil(remaining))
