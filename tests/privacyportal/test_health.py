"""``/health/`` answers 200 only when the database, Redis and a recent worker all answer,
and 503 naming what failed, never a 500, when one of them is down."""

import socket
import time
from datetime import timedelta

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from privacyportal import celery_app
from privacyportal.health import WORKER_HEARTBEAT_KEY
from privacyportal.tasks import worker_heartbeat_task
from tests.accounts.factories import UserFactory
from tests.privacyportal.test_celery_worker import celery_leaves_logging_alone  # noqa: F401

WAIT_SECONDS = 20


@pytest.fixture
def closed_port():
    """A local port nothing listens on: bound, so no one else takes it, but not listening."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def beat_seconds_ago(seconds: float) -> None:
    last_seen = timezone.now() - timedelta(seconds=seconds)
    cache.set(WORKER_HEARTBEAT_KEY, {"last_seen": last_seen.isoformat(), "worker": "w1@test"})


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_healthy_once_a_real_worker_ran_the_heartbeat(client, celery_leaves_logging_alone):  # noqa: F811
    assert django_settings.REDIS_URL, "this test needs REDIS_URL (a real broker)"
    response = client.get("/health/")
    assert response.status_code == 503
    assert response.json()["failing"] == ["worker"]
    assert response.json()["checks"]["worker"]["status"] == "never seen"

    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        worker_heartbeat_task.delay()
        deadline = time.monotonic() + WAIT_SECONDS
        while cache.get(WORKER_HEARTBEAT_KEY) is None and time.monotonic() < deadline:
            time.sleep(0.1)
    response = client.get("/health/")

    body = response.json()
    print(body)
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"] == {"status": "ok"}
    worker = body["checks"]["worker"]
    assert worker["status"] == "ok"
    assert worker["worker"]  # the worker's hostname, from the task's request
    assert 0 <= worker["age_seconds"] <= django_settings.HEALTH_WORKER_MAX_AGE
    assert timezone.datetime.fromisoformat(worker["last_seen"]) <= timezone.now()
    assert response["Content-Type"] == "application/json"
    assert "no-cache" in response["Cache-Control"]
    assert not response.cookies


@pytest.mark.django_db
def test_a_stale_heartbeat_is_unhealthy(client, settings):
    settings.HEALTH_WORKER_MAX_AGE = 60
    beat_seconds_ago(59)
    assert client.get("/health/").status_code == 200

    beat_seconds_ago(61)
    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["failing"] == ["worker"]
    assert body["checks"]["worker"]["status"] == "stale"
    assert body["checks"]["worker"]["age_seconds"] >= 61
    assert body["checks"]["database"]["status"] == "ok"


def test_the_heartbeat_runs_more_often_than_the_age_that_fails_health():
    entry = next(
        e
        for e in django_settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == worker_heartbeat_task.name
    )
    assert entry["schedule"] * 2 <= django_settings.HEALTH_WORKER_MAX_AGE


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_is_unhealthy_not_an_error(client, closed_port):
    beat_seconds_ago(1)
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port))
    try:
        response = client.get("/health/")
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["database"]
    assert body["checks"]["database"] == {"status": "unreachable", "error": "OperationalError"}
    assert body["checks"]["redis"]["status"] == "ok"
    assert body["checks"]["worker"]["status"] == "ok"


@pytest.mark.django_db
def test_an_unreachable_redis_is_unhealthy_not_an_error(client, settings, closed_port):
    assert settings.REDIS_URL, "this test needs REDIS_URL"
    beat_seconds_ago(1)
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{closed_port}/3",
        }
    }

    response = client.get("/health/")

    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["redis", "worker"]
    assert body["checks"]["redis"] == {"status": "unreachable", "error": "ConnectionError"}
    assert body["checks"]["worker"]["status"] == "unknown"
    assert body["checks"]["database"]["status"] == "ok"


@pytest.mark.django_db
def test_without_redis_the_embedded_default_is_healthy(client, settings):
    settings.REDIS_URL = ""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

    response = client.get("/health/")

    assert response.status_code == 200
    assert response.json()["checks"]["redis"] == {"status": "not configured"}
    assert response.json()["checks"]["worker"] == {"status": "in-process"}


@pytest.mark.django_db
def test_health_is_not_redirected_to_https_nor_to_the_policy_page(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    beat_seconds_ago(1)
    client.force_login(UserFactory(accepted_policy=False))

    assert client.get("/help/").status_code == 301
    # A pending policy leaves every page open (the banner asks); /health/ was never asked.
    assert client.get("/help/", secure=True).status_code == 200
    plain = client.get("/health/")
    secure = client.get("/health/", secure=True)

    assert (plain.status_code, secure.status_code) == (200, 200)
    assert plain.json()["status"] == secure.json()["status"] == "ok"
