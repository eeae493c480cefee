import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM
# refuses to run beside one unless told that this thread is synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def _isolated_services(settings, request, tmp_path_factory):
    """Each test starts with an empty cache (rate limits), an empty SMS outbox and eager tasks."""
    from django.core.cache import cache

    from consents.cache import consent_cache
    from privacyportal import celery_app, sms

    cache.clear()
    consent_cache.reset_local()
    sms.outbox.clear()
    settings.SMS_BACKEND = "privacyportal.sms.backends.locmem.SmsBackend"
    settings.TOMBSTONE_JOURNAL = tmp_path_factory.mktemp("journal") / "tombstones.jsonl"
    eager = request.node.get_closest_marker("celery_worker") is None
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = eager
    yield
    celery_app.conf.task_always_eager = previous
    sms.outbox.clear()


@pytest.fixture(autouse=True)
def _force_login_is_a_fresh_sign_in(monkeypatch):
    """``client.force_login`` stands for a sign-in that has just happened: allauth's record of
    it goes into the session, counted as a fresh re-authentication, so the desk's dangerous
    actions (which ask again once ACCOUNT_REAUTHENTICATION_TIMEOUT has passed) run at once.

    It marks no second factor: ``STAFF_REQUIRE_MFA`` is off in the test settings by default
    (settings.py computes it from DEBUG at import), and the tests that turn it on sign in
    through allauth's MFA step or age these records (tests/security/test_staff_mfa.py).
    """
    from types import SimpleNamespace

    from allauth.account.internal.flows.login import record_authentication
    from django.test.client import ClientMixin

    original = ClientMixin.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        session = self.session
        record_authentication(
            SimpleNamespace(session=session), user, "password", reauthenticated=True
        )
        session.save()

    monkeypatch.setattr(ClientMixin, "force_login", force_login)


@pytest.fixture
def user(db):
    """Someone who signed up; a module overrides it for a user with a given number."""
    from tests.accounts.factories import UserFactory

    return UserFactory()


@pytest.fixture
def signed_in(client, user):
    """The browser of ``user``, signed in, reading the portal in English."""
    client.cookies.load({"django_language": "en"})
    client.force_login(user)
    return client


@pytest.fixture
def superuser(db):
    """A privacy officer with every permission, named as the desk shows staff."""
    from tests.accounts.factories import UserFactory

    return UserFactory(is_staff=True, is_superuser=True, nickname="Officer Wu")


@pytest.fixture
def admin_client(client, superuser):
    """The superuser on the staff desk, in English (in place of pytest-django's, which signs
    in its own ``admin_user``)."""
    client.force_login(superuser)
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def sms_outbox():
    from privacyportal import sms

    return sms.outbox


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


DB_FIXTURES = {"db", "transactional_db", "live_server", "django_db_reset_sequences"}


@pytest.fixture(autouse=True)
def _seeded_catalogue(request):
    """Purposes and policy v1 come from a data migration; transactional tests flush
    every table afterwards, so put them back for each test that uses the database."""
    marker = request.node.get_closest_marker("django_db")
    fixtures = set(request.fixturenames)
    if marker is None and not fixtures & DB_FIXTURES:
        return
    transactional = (
        (marker is not None and marker.kwargs.get("transaction"))
        or "transactional_db" in fixtures
        or "live_server" in fixtures
    )
    request.getfixturevalue("transactional_db" if transactional else "db")
    from django.apps import apps

    from consents.seed import seed

    seed(apps)
