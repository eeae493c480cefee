import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# refuses to run beside one unless told that this thread is synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _isolated_services(settings, request):
    """Each test starts with an empty cache (rate limits), an empty SMS outbox and eager tasks."""
    from django.core.cache import cache

    from privacyportal import celery_app, sms

    cache.clear()
    sms.outbox.clear()
    settings.SMS_BACKEND = "privacyportal.sms.backends.locmem.SmsBackend"
    eager = request.node.get_closest_marker("celery_worker") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous
    sms.outbox.clear()


@pytest.fixture
def sms_outbox():
    from privacyportal import sms

    return sms.outbox


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
