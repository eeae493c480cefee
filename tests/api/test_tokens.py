"""Service tokens: scopes, revocation (also of a cached token), wrong tokens, the call log
and the audit rows. A refused call changes nothing."""

import logging
import time

import pytest

from accounts.models import BrowsingRecord
from api.auth import caller_for
from api.models import Scope, ServiceToken
from api.services import TokenError, service_token_create, service_token_revoke
from api.tokens import token_digest
from privacyportal.models import AuditEntry
from requests.models import Disclosure
from tests.accounts.factories import UserFactory

from .conftest import grant

pytestmark = pytest.mark.django_db(transaction=True)

CALLS = [
    ("GET", "/consents/personalisation/users/{user}", None, Scope.CONSENT_READ),
    ("POST", "/consents/personalisation/check", {"user_ids": ["{user}"]}, Scope.CONSENT_READ),
    (
        "POST",
        "/disclosures",
        {
            "user": {"id": "{user}"},
            "recipient": "Acme Logistics",
            "categories": ["phone_number"],
            "basis": "consent",
            "subject_identifier": "c-1",
        },
        Scope.DISCLOSURE_WRITE,
    ),
    (
        "POST",
        "/activity",
        {"user_id": "{user}", "kind": "search", "text": "shoes"},
        Scope.ACTIVITY_WRITE,
    ),
]


def _fill(value, user_id):
    if value == "{user}":
        return user_id
    if isinstance(value, dict):
        return {k: _fill(v, user_id) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, user_id) for v in value]
    return value


def call(client, method, path, body, user, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return client.request(
        method, path.format(user=user.pk), json=_fill(body, user.pk), headers=headers
    )


@pytest.fixture
def consenting_user(recipient):
    user = UserFactory()
    grant(user, "personalisation")
    grant(user, "third_party_sharing")
    return user


def nothing_written():
    return Disclosure.objects.count() == 0 and BrowsingRecord.objects.count() == 0


@pytest.mark.parametrize("method, path, body, scope", CALLS)
def test_each_endpoint_needs_its_scope(
    anonymous, make_token, consenting_user, method, path, body, scope
):
    _, without = make_token([s for s in Scope.values if s != scope], service="other")
    _, only = make_token([scope], service="only")

    refused = call(anonymous, method, path, body, consenting_user, without)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert scope in refused.json()["error"]["message"]
    assert nothing_written()
    assert ServiceToken.objects.get(service="other").last_used_at is None
    assert call(anonymous, method, path, body, consenting_user, only).status_code in (200, 201, 202)


@pytest.mark.parametrize("method, path, body, scope", CALLS)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ppst_wrong", "Bearer not-even-ours", "Bearer ppst_" + "x" * 200, "Basic ppst_x"],
    ids=repr,
)
def test_a_missing_or_wrong_token_is_401(
    anonymous, consenting_user, method, path, body, scope, authorization
):
    headers = {"Authorization": authorization} if authorization else {}
    response = anonymous.request(
        method,
        path.format(user=consenting_user.pk),
        json=_fill(body, consenting_user.pk),
        headers=headers,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert nothing_written()


def test_a_revoked_token_is_refused_at_once_even_when_it_was_cached(
    anonymous, make_token, staff, consenting_user
):
    token, plaintext = make_token()
    method, path, body, _ = CALLS[3]
    assert call(anonymous, method, path, body, consenting_user, plaintext).status_code == 202
    assert caller_for(plaintext) is not None  # now in the cache
    BrowsingRecord.objects.all().delete()

    service_token_revoke(token=token, actor=staff)

    for method, path, body, _ in CALLS:
        response = call(anonymous, method, path, body, consenting_user, plaintext)
        assert response.status_code == 401
    assert nothing_written()


def test_a_revocation_wins_over_a_copy_read_before_it(make_token, staff):
    """A request that read the token as live just before the revocation committed must not
    put it back in the cache after the revocation's marker."""
    from django.core.cache import cache

    from api.auth import shared_key

    token, plaintext = make_token()
    stale = (token.pk, token.service, token.prefix, tuple(token.scopes))

    service_token_revoke(token=token, actor=staff)
    cache.add(shared_key(token_digest(plaintext)), stale)  # what the late reader does

    assert caller_for(plaintext) is None


def test_tokens_are_stored_as_digests_and_audited(staff):
    token, plaintext = service_token_create(
        service="search", scopes=[Scope.CONSENT_READ], actor=staff
    )

    assert plaintext.startswith("ppst_") and len(plaintext) > 40
    assert token.digest == token_digest(plaintext) and plaintext not in token.digest
    assert token.prefix == plaintext[:11]
    assert not ServiceToken.objects.filter(digest__contains=plaintext[11:]).exists()
    created = AuditEntry.objects.get(action="service_token.created")
    assert (created.actor, created.target_id) == (staff, str(token.pk))
    assert created.details == {
        "service": "search",
        "prefix": token.prefix,
        "scopes": ["consent:read"],
    }
    assert plaintext not in str(created.details)

    service_token_revoke(token=token, actor=staff)
    service_token_revoke(token=token, actor=staff)

    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == staff
    assert AuditEntry.objects.filter(action="service_token.revoked").count() == 1


def test_one_live_token_per_service(staff):
    token, _ = service_token_create(service="shop", scopes=[Scope.CONSENT_READ], actor=staff)
    with pytest.raises(TokenError):
        service_token_create(service="shop", scopes=[Scope.CONSENT_READ], actor=staff)
    with pytest.raises(TokenError):
        service_token_create(service="feeds", scopes=["admin:all"], actor=staff)

    service_token_revoke(token=token, actor=staff)

    service_token_create(service="shop", scopes=[Scope.CONSENT_READ], actor=staff)
    assert AuditEntry.objects.filter(action="service_token.created").count() == 2


def test_every_call_is_logged_with_the_service_and_the_route_not_the_path(
    api, anonymous, consenting_user, caplog
):
    caplog.set_level(logging.INFO, logger="api.calls")

    api.get(f"/consents/personalisation/users/{consenting_user.pk}")
    anonymous.get(f"/consents/personalisation/users/{consenting_user.pk}")

    records = [r for r in caplog.records if r.name == "api.calls"]
    assert [(r.service, r.status) for r in records] == [("shop", 200), (None, 401)]
    assert records[0].route == "/api/v1/consents/<purpose>/users/<user_id>"
    assert records[0].token_prefix.startswith("ppst_")
    # The message names the route, never the path with the user's id (its last part is
    # the duration, whose digits may be anything).
    message = records[0].getMessage()
    assert message.startswith("shop GET /api/v1/consents/<purpose>/users/<user_id> -> 200 in ")
    assert f"/{consenting_user.pk}" not in message


def test_last_used_is_recorded(api, consenting_user, make_token):
    api.get(f"/consents/personalisation/users/{consenting_user.pk}")

    assert ServiceToken.objects.get(service="shop").last_used_at is not None


def test_another_process_revoking_drops_the_token_from_this_ones_memory(make_token):
    """What a revocation in another process publishes reaches this process's memory."""
    from django.core.cache import cache

    from api.memory import CHANNEL, memory, token_key

    token, plaintext = make_token()
    key = token_key(token.digest)
    for _ in range(500):  # until the listener has subscribed and memory is in use
        caller_for(plaintext)
        if memory.get(key) is not None:
            break
        time.sleep(0.01)
    assert memory.get(key) is not None

    cache._cache.get_client(write=True).publish(CHANNEL, key)

    for _ in range(500):
        if memory.get(key) is None:
            break
        time.sleep(0.01)
    assert memory.get(key) is None
