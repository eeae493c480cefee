"""Every API test talks to the live server over real HTTP, with httpx."""

import httpx
import pytest

from api.models import Scope
from api.services import service_token_create
from consents.models import Channel, Purpose
from consents.services import consent_grant
from tests.accounts.factories import UserFactory
from tests.requests.factories import RecipientFactory

ALL_SCOPES = list(Scope.values)


@pytest.fixture
def staff():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def make_token(staff):
    def make(scopes=ALL_SCOPES, service="shop"):
        return service_token_create(service=service, scopes=list(scopes), actor=staff)

    return make


@pytest.fixture
def token(make_token):
    return make_token()[1]


@pytest.fixture
def api(live_server, token):
    with httpx.Client(
        base_url=live_server.url + "/api/v1",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as client:
        yield client


@pytest.fixture
def anonymous(live_server):
    with httpx.Client(base_url=live_server.url + "/api/v1", timeout=30) as client:
        yield client


def grant(user, code):
    consent_grant(
        user=user,
        purpose=Purpose.objects.get(code=code),
        channel=Channel.SELF_SERVICE,
        separately_confirmed=True,
    )


@pytest.fixture
def recipient():
    return RecipientFactory(name="Acme Logistics", categories=["phone_number", "profile"])


@pytest.fixture(autouse=True)
def _empty_api_memory():
    """The suite flushes Redis and the tables between tests; memory must not outlive them."""
    from api.memory import memory

    memory.reset()
    yield
    memory.reset()
