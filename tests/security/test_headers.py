"""Security headers on every page, and secure cookies in production.

Every route of the URLconf (anonymous and signed in) and every admin URL of every
registered model is fetched; each response must carry the Content-Security-Policy,
X-Frame-Options, Referrer-Policy, X-Content-Type-Options and Cross-Origin-Opener-Policy,
and no page may hold inline code the policy would refuse. In the test process the
settings are DEBUG's; the production test runs the same walk in a subprocess with
DEBUG=false, where HSTS, secure cookies and the manifest static storage are computed at
import, and fetches over HTTPS.
"""

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tests.privacyportal.test_project import PRODUCTION_ENV, ROOT, manage

from . import pages
from .world import build_world

# Also makes pytest-django create the test database that the production subprocess uses.
pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, media_root):
    return build_world()


def failures(report: dict) -> str:
    return "\n".join(f"{page}: {found}" for page, found in report.items() if found)


def test_every_page_sends_the_security_headers(world):
    report = pages.fetch_every_page(Client, world, https=False)
    assert len(report) > 150
    assert failures(report) == ""


def test_the_check_finds_a_missing_header_and_inline_code(world, settings):
    """The walk is only as good as ``problems``: it sees what is missing."""
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != "csp.middleware.CSPMiddleware"]
    response = Client().get("/")
    assert pages.problems(response, https=True) == [
        "no Content-Security-Policy",
        "Strict-Transport-Security is None, not 'max-age=31536000; includeSubDomains; preload'",
    ]

    class Page:
        status_code = 200
        content = b'<p style="color:red" onclick="x()">a</p><script>1</script><style></style>'

        def get(self, name, default=None):
            return {"Content-Type": "text/html"}.get(name, default)

    found = pages.problems(Page(), https=False)
    assert "inline <script>" in found and "<style> element" in found
    assert 'style="color:red" on <p>' in found and "onclick handler on <p>" in found


def test_the_policy_allows_no_inline_code_and_no_framing():
    directives = settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    header = "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())
    assert pages.csp_problems(header) == []
    assert "'unsafe-inline'" not in header and "'unsafe-eval'" not in header
    assert pages.csp_problems(header.replace("'none'", "'self'")) != []


@pytest.fixture(scope="module")
def production_report(django_db_setup, django_db_blocker, tmp_path_factory):
    """The walk in a DEBUG=false process on this run's test database (inside a transaction
    that it rolls back) and this run's Redis, after collectstatic for the manifest storage."""
    with django_db_blocker.unblock():
        database = settings.DATABASES["default"]
        name = connection.settings_dict["NAME"]
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{name}"
    static_root = tmp_path_factory.mktemp("static")
    env = {
        **PRODUCTION_ENV,
        "DATABASE_URL": url,
        "REDIS_URL": settings.CACHES["default"]["LOCATION"],
        "STATIC_ROOT": str(static_root),
        "MEDIA_ROOT": str(tmp_path_factory.mktemp("media")),
        "SMS_BACKEND": "privacyportal.sms.backends.locmem.SmsBackend",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        "TOMBSTONE_JOURNAL": str(tmp_path_factory.mktemp("journal") / "tombstones.jsonl"),
    }
    collected = manage("collectstatic", "--noinput", "-v0", env=env)
    assert collected.returncode == 0, collected.stderr
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); "
            "from tests.security.pages import production_report; production_report()",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k not in env},
            **env,
            "DJANGO_SETTINGS_MODULE": "privacyportal.settings",
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_every_page_in_production_sends_the_headers_and_hsts(production_report):
    report = production_report["pages"]
    assert len(report) > 150
    assert failures(report) == ""


def test_plain_http_is_redirected_to_https_in_production(production_report):
    assert production_report["http"] == {"status": 301, "location": f"https://{pages.HOST}/"}


@pytest.mark.parametrize("name", ["csrftoken", "sessionid", "django_language"])
def test_cookies_are_secure_http_only_and_same_site_in_production(production_report, name):
    assert production_report["cookies"][name] == {
        "secure": True,
        "httponly": True,
        "samesite": "Lax",
    }
