"""Issue 19 point 7: the internal API has rate limits.

Per client (service token) for every call, and per address for calls refused for their
credentials; 429 with Retry-After, counted in the Django cache (Redis here), documented
in the OpenAPI description. The limits are settings: lowered here to a few calls.
"""

import pytest
from django.core.cache import cache

from api.models import Scope
from api.services import service_token_create
from tests.accounts.factories import UserFactory
from tests.requests.factories import NoticeFactory

pytestmark = pytest.mark.django_db

ADDRESS = "203.0.113.9"
OTHER_ADDRESS = "198.51.100.7"


@pytest.fixture(autouse=True)
def _empty_api_memory():
    from api.memory import memory

    memory.reset()
    yield
    memory.reset()


@pytest.fixture
def make_token():
    staff = UserFactory(is_staff=True, is_superuser=True)

    def make(service="shop"):
        return service_token_create(service=service, scopes=[Scope.CONSENT_READ], actor=staff)[1]

    return make


def check(client, user, token=None, *, address=ADDRESS):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(
        f"/api/v1/consents/personalisation/users/{user.pk}", headers=headers, REMOTE_ADDR=address
    )


def assert_limited(response):
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "too_many_requests"
    assert 1 <= int(response["Retry-After"]) <= 60


def test_a_client_over_its_limit_gets_429_with_retry_after(client, settings, make_token, user):
    settings.API_RATE_LIMIT_CLIENT = "5/min"
    shop, search = make_token("shop"), make_token("search")

    answers = [check(client, user, shop).status_code for _ in range(5)]
    limited = check(client, user, shop)

    assert answers == [200] * 5
    assert_limited(limited)
    # The limit is the client's, wherever it calls from; another client is not held back.
    assert_limited(check(client, user, shop, address=OTHER_ADDRESS))
    assert check(client, user, search).status_code == 200


def test_every_call_counts_refused_ones_too(client, settings, make_token, user):
    settings.API_RATE_LIMIT_CLIENT = "3/min"
    token = make_token()
    headers = {"Authorization": f"Bearer {token}"}

    assert (
        client.get("/api/v1/consents/personalisation/users/999999", headers=headers).status_code
        == 404
    )
    assert (
        client.get("/api/v1/consents/no-such-purpose/users/1", headers=headers).status_code == 404
    )
    assert check(client, user, token).status_code == 200
    assert_limited(check(client, user, token))


def test_a_client_limit_counts_in_the_shared_cache(client, settings, make_token, user):
    """Every web process adds to one count: the cache's, not a process's own."""
    settings.API_RATE_LIMIT_CLIENT = "5/min"
    token = make_token()
    assert check(client, user, token).status_code == 200

    [key] = cache._cache.get_client().keys("*api:rate:client:*")
    assert cache._cache.get_client().get(key) == b"1"


def test_failed_authentication_is_limited_per_address(client, settings, make_token, user):
    settings.API_RATE_LIMIT_AUTH_FAILURES = "3/min"
    wrong = "ppst_" + "x" * 43

    answers = [check(client, user, wrong).status_code for _ in range(2)]
    answers.append(check(client, user).status_code)  # no token at all counts too
    limited = check(client, user, wrong)

    assert answers == [401, 401, 401]
    assert_limited(limited)
    # While it is over, even a live token it never used is not looked up from there.
    assert_limited(check(client, user, make_token()))
    # Another address is not held back.
    assert check(client, user, wrong, address=OTHER_ADDRESS).status_code == 401
    assert check(client, user, make_token("search"), address=OTHER_ADDRESS).status_code == 200


def test_a_recipients_bad_signatures_count_as_failed_authentication(client, settings):
    settings.API_RATE_LIMIT_AUTH_FAILURES = "2/min"
    notice = NoticeFactory(endpoint="https://dsr.acme.example/notices")
    url = f"/api/v1/notices/{notice.idempotency_key}"
    bad = {"X-PrivacyPortal-Timestamp": "1", "X-PrivacyPortal-Signature": "sha256=00"}

    answers = [client.get(url, headers=bad, REMOTE_ADDR=ADDRESS).status_code for _ in range(2)]

    assert answers == [403, 403]
    assert_limited(client.get(url, headers=bad, REMOTE_ADDR=ADDRESS))


def test_the_api_keeps_answering_when_the_cache_does_not(
    client, settings, make_token, user, monkeypatch
):
    settings.API_RATE_LIMIT_CLIENT = "1/min"

    def down(*args, **kwargs):
        raise ConnectionError("Redis is gone")

    token = make_token()
    assert check(client, user, token).status_code == 200
    monkeypatch.setattr(cache, "incr", down)
    monkeypatch.setattr(cache, "add", down)

    assert check(client, user, token).status_code == 200


def test_the_openapi_description_documents_the_limits(client):
    schema = client.get("/api/v1/openapi.json").json()

    description = schema["info"]["description"]
    assert "Rate limits" in description
    assert "API_RATE_LIMIT_CLIENT" in description and "API_RATE_LIMIT_AUTH_FAILURES" in description
    assert "Retry-After" in description
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    for operation in operations:
        assert "429" in operation["responses"], operation["operationId"]
