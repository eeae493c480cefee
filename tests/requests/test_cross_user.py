"""No one reaches another user's request: generated from the URLconf.

Every route in the ``requests`` namespace that takes a ``reference`` is collected by
walking the resolver, so a route added later is held to the same rule without anyone
remembering to list it here. Signed in as someone else, each answers exactly as it does
for a reference that does not exist (404 for GET; for POST whatever a missing request
gets), never 200, 403, 410 or a redirect that would tell the request exists.
"""

import io
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from requests.models import AccessCopy, PrivacyRequest, RequestEvent
from tests.accounts.factories import UserFactory
from tests.requests.factories import AccessFactory, DeletionFactory, QuestionFactory

NAMESPACE = "requests"


def _reference_routes(patterns=None, namespaces=()):
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            found += _reference_routes(entry.url_patterns, inner)
        elif isinstance(entry, URLPattern) and namespaces and namespaces[-1] == NAMESPACE:
            pattern = entry.pattern
            kwargs = set(getattr(pattern, "converters", {})) or set(pattern.regex.groupindex)
            if "reference" in kwargs:
                # Unnamed routes cannot be reversed, and so could not be checked.
                assert entry.name, f"name the route {pattern} so this test can reach it"
                assert kwargs == {"reference"}, f"{entry.name}: teach this test {kwargs}"
                found.append(f"{':'.join(namespaces)}:{entry.name}")
    return sorted(set(found))


ROUTES = _reference_routes()


def test_the_walk_finds_the_request_routes():
    assert {"requests:detail", "requests:download", "requests:withdraw"} <= set(ROUTES)


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("account.json", "{}")
    return out.getvalue()


def _copy(privacy_request, *, expires_at):
    copy = privacy_request.access_copy
    copy.file.save("copy.zip", ContentFile(_zip()), save=False)
    copy.status = AccessCopy.Status.READY
    copy.progress = 100
    copy.built_at = timezone.now() - timedelta(days=1)
    copy.expires_at = expires_at
    copy.save()


@pytest.fixture
def owner(db):
    return UserFactory(phone="+8613800138000")


@pytest.fixture
def owned(owner, media_root):
    """A's requests: a copy ready, a copy expired, an open deletion, a question."""
    now = timezone.now()
    expired = AccessFactory(user=owner, verified_at=now)
    _copy(expired, expires_at=now - timedelta(hours=1))
    # Only one copy is made at a time: close the first as the builder would.
    PrivacyRequest.objects.filter(pk=expired.pk).update(status=PrivacyRequest.Status.COMPLETED)
    ready = AccessFactory(user=owner, verified_at=now)
    _copy(ready, expires_at=now + timedelta(days=7))
    deletion = DeletionFactory(user=owner, verified_at=now)
    question = QuestionFactory(user=owner, details="private question")
    return {"ready": ready, "expired": expired, "deletion": deletion, "question": question}


@pytest.fixture
def intruder(client):
    client.cookies.load({"django_language": "en"})
    client.force_login(UserFactory(phone="+8613900139000", is_staff=True, is_superuser=True))
    return client


def _snapshot():
    return (
        list(PrivacyRequest.objects.order_by("pk").values_list("pk", "status")),
        RequestEvent.objects.count(),
    )


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("which", ["ready", "expired", "deletion", "question"])
def test_someone_else_gets_what_a_missing_request_gets(intruder, owned, route, which):
    target = owned[which]
    url = reverse(route, kwargs={"reference": target.reference})
    missing = reverse(route, kwargs={"reference": uuid.uuid4()})
    before = _snapshot()

    response = intruder.get(url)
    assert response.status_code == 404, f"GET {route} as another user"
    assert "private question" not in response.content.decode()

    response = intruder.post(url)
    assert response.status_code == intruder.post(missing).status_code, f"POST {route}"
    assert response.status_code in (404, 405), f"POST {route} as another user"
    assert _snapshot() == before


@pytest.mark.parametrize("route", ROUTES)
def test_the_owner_reaches_every_route(client, owner, owned, route):
    client.force_login(owner)
    for target in owned.values():
        response = client.get(reverse(route, kwargs={"reference": target.reference}))
        assert response.status_code != 404 or (
            # A download exists only where there is a copy.
            route == "requests:download" and target.kind != PrivacyRequest.Kind.ACCESS
        ), f"{route} for {target.kind}"
    ready = client.get(reverse(route, kwargs={"reference": owned["ready"].reference}))
    assert ready.status_code == 200


def test_the_owner_is_told_clearly_when_the_download_has_expired(client, owner, owned):
    client.cookies.load({"django_language": "en"})
    client.force_login(owner)
    response = client.get(reverse("requests:download", args=[owned["expired"].reference]))
    assert response.status_code == 410
    body = response.content.decode()
    assert "This download has expired" in body
    assert "File a new request" in body


def test_signed_out_visitors_are_sent_to_sign_in(client, owned):
    for route in ROUTES:
        response = client.get(reverse(route, kwargs={"reference": owned["ready"].reference}))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
