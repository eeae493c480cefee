"""``/health/``: is this web process able to serve, and is a Celery worker alive?

For load balancers and monitoring: no session, no transaction, JSON in English.
Each check catches only the errors of the service it talks to, so a service that
is down gives 503 naming it, never a 500.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import Error as DatabaseError
from django.db import connection, transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from redis.exceptions import RedisError

# Written by the heartbeat task on a worker (CELERY_BEAT_SCHEDULE), read here.
WORKER_HEARTBEAT_KEY = "health:worker-heartbeat"


def heartbeat_record(*, hostname: str) -> None:
    """What the heartbeat task stores: when a worker last ran it, and which worker."""
    cache.set(
        WORKER_HEARTBEAT_KEY,
        {"last_seen": timezone.now().isoformat(), "worker": hostname},
        timeout=None,
    )


def check_database() -> tuple[bool, dict]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as error:
        return False, {"status": "unreachable", "error": type(error).__name__}
    return True, {"status": "ok", "vendor": connection.vendor}


def check_redis() -> tuple[bool, dict]:
    if not settings.REDIS_URL:
        return True, {"status": "not configured"}
    try:
        # The cache's own client: the cache, the broker and the consent cache share REDIS_URL.
        cache._cache.get_client(write=True).ping()
    except (RedisError, OSError) as error:
        return False, {"status": "unreachable", "error": type(error).__name__}
    return True, {"status": "ok"}


def check_worker(*, redis_ok: bool) -> tuple[bool, dict]:
    if not settings.REDIS_URL:
        return True, {"status": "in-process"}
    if not redis_ok:
        return False, {"status": "unknown", "error": "redis unreachable"}
    max_age = settings.HEALTH_WORKER_MAX_AGE
    try:
        beat = cache.get(WORKER_HEARTBEAT_KEY)
    except (RedisError, OSError) as error:
        return False, {"status": "unknown", "error": type(error).__name__}
    if not beat:
        return False, {"status": "never seen", "last_seen": None, "max_age_seconds": max_age}
    last_seen = datetime.fromisoformat(beat["last_seen"])
    age = round((timezone.now() - last_seen).total_seconds(), 1)
    fresh = age <= max_age
    return fresh, {
        "status": "ok" if fresh else "stale",
        "last_seen": beat["last_seen"],
        "age_seconds": age,
        "max_age_seconds": max_age,
        "worker": beat.get("worker", ""),
    }


@never_cache
@require_safe
@transaction.non_atomic_requests
def health(request):
    database_ok, database = check_database()
    redis_ok, redis = check_redis()
    worker_ok, worker = check_worker(redis_ok=redis_ok)
    checks = {"database": database, "redis": redis, "worker": worker}
    failing = [
        name
        for name, ok in (("database", database_ok), ("redis", redis_ok), ("worker", worker_ok))
        if not ok
    ]
    body = {"status": "fail" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    return JsonResponse(body, status=503 if failing else 200)
