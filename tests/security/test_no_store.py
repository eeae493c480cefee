"""Personal pages are not kept by browsers or proxies: ``Cache-Control: private, no-store``.

Every route of the URLconf is fetched signed in (as the owner of the world's data, and
every admin URL as staff), the same walk as tests/security/test_headers.py, and every
response must say ``private, no-store``: a page added later is checked without anyone
listing it. Public pages for anonymous visitors and static files stay cacheable.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from api.services import service_token_create

from . import pages
from .test_avatar_abuse import picture, upload
from .world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db, media_root):
    return build_world()


def not_private(response) -> str | None:
    header = response.get("Cache-Control", "")
    directives = {part.strip() for part in header.split(",")}
    if {"private", "no-store"} <= directives:
        return None
    return repr(header or None)


def walk(client, urls) -> dict[str, str]:
    wrong = {}
    for label, url in urls:
        response = client.get(url)
        found = not_private(response)
        if found:
            wrong[f"{label} {url} ({response.status_code})"] = found
    return wrong


def test_every_signed_in_page_says_private_no_store(world):
    owner = Client()
    owner.force_login(world.owner)
    urls = pages.page_urls(world.values)
    assert len(urls) > 50
    assert walk(owner, urls) == {}


def test_every_admin_page_says_private_no_store(world):
    staff = Client()
    staff.force_login(world.staff)
    urls = pages.admin_urls()
    assert len(urls) > 100
    assert walk(staff, urls) == {}


@pytest.mark.parametrize(
    "name",
    [
        "accounts:settings",
        "accounts:my_data",
        "accounts:security_events",
        "requests:list",
    ],
)
def test_the_pages_the_issue_names_say_it(world, client, name):
    client.force_login(world.owner)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_a_request_page_says_it(world, client):
    client.force_login(world.owner)
    reference = world.values["reference"][0]
    response = client.get(reverse("requests:detail", args=[reference]))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_a_stricter_header_a_view_set_is_kept(world, client):
    """/health/ is never_cache: it keeps its own header, which already forbids storing."""
    client.force_login(world.owner)
    response = client.get(reverse("health"))
    assert "no-store" in response["Cache-Control"]
    assert "max-age=0" in response["Cache-Control"]


def test_a_weaker_header_a_view_set_is_replaced(world, client):
    """The avatar asked for an hour's private caching; a kept copy outlives the session."""
    client.force_login(world.owner)
    assert upload(client, "me.png", picture()).status_code == 302
    response = client.get(reverse("accounts:avatar_image"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_the_internal_api_says_it(world, client):
    _token, plaintext = service_token_create(
        service="search", scopes=["consent:read"], actor=world.staff
    )
    response = client.get(
        reverse(
            "api-v1:consent_check",
            kwargs={"purpose": "personalisation", "user_id": world.owner.pk},
        ),
        headers={"Authorization": f"Bearer {plaintext}"},
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"


def test_a_recipients_signed_poll_says_it(world, client):
    """A notice's state names the subject's identities at the recipient."""
    key = world.values["key"][0]
    response = client.get(
        reverse("api-v1:notice_state", kwargs={"key": key}),
        headers={"X-PrivacyPortal-Timestamp": "1", "X-PrivacyPortal-Signature": "sha256=00"},
    )
    assert response["Cache-Control"] == "private, no-store"


def test_a_sign_in_in_progress_says_it(world, client):
    """After the number is typed, the code page belongs to that visitor's session."""
    client.post(reverse("account_login"), {"login": str(world.owner.phone)})
    assert settings.SESSION_COOKIE_NAME in client.cookies
    response = client.get(reverse("account_login"))
    assert not_private(response) is None


def test_public_pages_for_anonymous_visitors_stay_cacheable(world):
    response = Client().get(reverse("policy:in_force"))
    assert response.status_code == 200
    assert not_private(response) is not None


def test_static_files_stay_cacheable_when_signed_in(world, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    client = Client()  # a new handler: whitenoise reads the settings when it is built
    client.force_login(world.owner)
    response = client.get(f"{settings.STATIC_URL}css/portal.css")
    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")


def test_the_middleware_runs_below_whitenoise():
    middleware = settings.MIDDLEWARE
    assert middleware.index("privacyportal.middleware.NoStoreMiddleware") > middleware.index(
        "whitenoise.middleware.WhiteNoiseMiddleware"
    )
