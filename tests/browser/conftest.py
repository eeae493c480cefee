"""Fixtures for browser tests: Debian's Chromium driven by Playwright's sync API.

The browser is never downloaded: Playwright launches /usr/bin/chromium.
"""

import os
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

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
