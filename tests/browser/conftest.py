"""Fixtures for browser tests: Debian's Chromium driven by Playwright's sync API.

The browser is never downloaded: Playwright launches /usr/bin/chromium.
"""

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.helpers import CODE_RE

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


def _english_context(chromium, live_server):
    context = chromium.new_context(locale="en-US")
    context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    context.set_default_timeout(10_000)
    return context


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def zh_phone_context(chromium, live_server):
    """A phone-sized context (390 × 844) that reads the portal in Chinese, as most users do."""
    context = chromium.new_context(locale="zh-CN", viewport=PHONE)
    context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": live_server.url}])
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def browser_context(chromium, live_server):
    """A fresh context per test, in English so assertions read the English strings."""
    context = _english_context(chromium, live_server)
    yield context
    context.close()


@pytest.fixture
def new_context(chromium, live_server):
    """Make further English contexts (another person's browser); all closed after the test."""
    made = []

    def make():
        context = _english_context(chromium, live_server)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def sign_in(live_server):
    """``sign_in(context, user)``: the user is signed in in that context, without the SMS flow.

    Django's test client makes the session (``force_login``); its cookie goes into the context.
    """
    from django.conf import settings
    from django.test import Client

    def _sign_in(context, user):
        client = Client()
        client.force_login(user)
        context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "domain": urlsplit(live_server.url).hostname,
                    "path": "/",
                    "httpOnly": True,
                    "sameSite": "Lax",
                }
            ]
        )
        return context

    return _sign_in


@pytest.fixture
def wait_until():
    """``wait_until(condition, timeout=2.0)``: poll until ``condition()`` is truthy.

    The live server runs in a thread of this process; some effects (consent-cache
    invalidation on commit) land a moment after the page that caused them.
    Returns the last value, so ``assert wait_until(...)`` fails when time runs out.
    """

    def _wait_until(condition, timeout=2.0, interval=0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = condition()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(interval)

    return _wait_until


@pytest.fixture
def page(browser_context):
    return browser_context.new_page()


@pytest.fixture
def sms_dir(settings, tmp_path):
    """Switch to the file SMS backend (after conftest's autouse locmem) and return its folder."""
    settings.SMS_BACKEND = "privacyportal.sms.backends.filebased.SmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    return settings.SMS_FILE_PATH


@pytest.fixture
def sms_code(sms_outbox, wait_until):
    """``sms_code(phone, after=0)``: the 6-digit code in the newest text to ``phone``.

    Reads the in-memory outbox (tests/conftest.py's autouse locmem backend; not for
    tests that switch to ``sms_dir``). The live server runs in this process and sends on
    commit, so the message is there once the page that sent it has loaded; ``after`` is
    ``len(sms_outbox)`` before that page, so an older code is never picked up.
    """

    def _sms_code(phone: str, *, after: int = 0) -> str:
        def newest():
            for message in reversed(sms_outbox[after:]):
                match = CODE_RE.search(message.body)
                if message.to == phone and match:
                    return match.group(1)
            return None

        code = wait_until(newest)
        assert code, f"no new SMS with a code to {phone}: {[m.body for m in sms_outbox]}"
        return code

    return _sms_code


@pytest.fixture
def staff_roles(transactional_db):
    """The staff groups of requests/migrations/0002_staff_roles.py, by name.

    Browser tests are transactional: the flush after each one empties auth_group
    (post_migrate brings permissions back, not groups), so when they are gone the
    migration's own function re-creates them on the migration's own model state,
    as tests/requests/test_roles.py does.
    """
    import importlib

    from django.contrib.auth.models import Group
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    roles = importlib.import_module("requests.migrations.0002_staff_roles")
    names = [roles.OFFICER, roles.AGENT, roles.AUDITOR]
    if Group.objects.filter(name__in=names).count() != len(names):
        state = MigrationLoader(connection).project_state(("requests", "0002_staff_roles"))
        with connection.schema_editor() as schema_editor:
            roles.create_roles(state.apps, schema_editor)
    return {group.name: group for group in Group.objects.filter(name__in=names)}


@pytest.fixture
def admin_sign_in(live_server):
    """``admin_sign_in(page, user, password)``: open the staff desk, which sends to allauth's
    sign-in (the users' form, limits and lockout), and sign in with the number and password.
    The second factor is not asked: STAFF_REQUIRE_MFA is off in tests (tests/conftest.py)."""
    from django.urls import reverse
    from playwright.sync_api import expect

    def _admin_sign_in(page, user, password):
        page.goto(live_server.url + reverse("admin:index"))
        form = page.locator(f"form[action='{reverse('account_login')}']")
        form.locator("input[name=login]").fill(user.phone.as_e164)
        form.locator("input[name=password]").fill(password)
        form.locator("[type=submit]").click()
        expect(page).to_have_url(live_server.url + reverse("admin:index"))
        return page

    return _admin_sign_in
