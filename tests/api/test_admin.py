"""Staff make a token in the admin (shown once, stored as a digest) and revoke it there."""

import importlib

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from api.models import ServiceToken
from api.tokens import token_digest
from privacyportal.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.requests.test_roles import ensure_roles

pytestmark = pytest.mark.django_db

roles_migration = importlib.import_module("api.migrations.0002_roles_for_service_tokens")

ADD = "admin:api_servicetoken_add"
CHANGELIST = "admin:api_servicetoken_changelist"


def roles():
    """The groups with this app's grants, whichever test (re)made the groups before."""
    groups = ensure_roles()
    loader = MigrationLoader(connection)
    with connection.schema_editor() as schema_editor:
        roles_migration.grant(
            loader.project_state(("api", "0002_roles_for_service_tokens")).apps, schema_editor
        )
    return groups


def staff_in(role):
    user = UserFactory(is_staff=True)
    user.groups.add(roles()[role])
    return user


@pytest.fixture
def officer(client):
    user = staff_in("Privacy officer")
    client.force_login(user)
    return user


def test_the_officer_creates_a_token_and_sees_it_once(client, officer):
    assert client.get(reverse(ADD)).status_code == 200

    response = client.post(
        reverse(ADD), {"service": " search ", "scopes": ["consent:read", "activity:write"]}
    )

    assert response.status_code == 200
    plaintext = response.context["plaintext"]
    assert plaintext in response.content.decode()
    assert "no-cache" in response["Cache-Control"]
    token = ServiceToken.objects.get()
    assert (token.service, token.scopes) == ("search", ["activity:write", "consent:read"])
    assert token.digest == token_digest(plaintext)
    assert AuditEntry.objects.filter(action="service_token.created", actor=officer).exists()
    for url in (reverse(CHANGELIST), reverse("admin:api_servicetoken_change", args=[token.pk])):
        page = client.get(url).content.decode()
        assert token.prefix in page
        assert plaintext not in page
    change_page = client.get(reverse("admin:api_servicetoken_change", args=[token.pk]))
    assert 'name="_save"' not in change_page.content.decode()


def test_bad_create_forms_are_shown_again_with_errors(client, officer):
    client.post(reverse(ADD), {"service": "shop", "scopes": ["consent:read"]})

    again = client.post(reverse(ADD), {"service": "shop", "scopes": ["consent:read"]})
    no_scope = client.post(reverse(ADD), {"service": "feeds"})
    bad_scope = client.post(reverse(ADD), {"service": "feeds", "scopes": ["admin:all"]})

    for response in (again, no_scope, bad_scope):
        assert response.status_code == 200
        assert "plaintext" not in response.context
        assert response.context["form"].errors
    assert ServiceToken.objects.count() == 1


def test_the_officer_revokes_tokens_from_the_list(client, officer):
    from api.services import service_token_create

    token, _ = service_token_create(service="shop", scopes=["consent:read"], actor=officer)

    client.post(reverse(CHANGELIST), {"action": "revoke_tokens", "_selected_action": [token.pk]})

    token.refresh_from_db()
    assert token.revoked_at is not None and token.revoked_by == officer
    assert AuditEntry.objects.filter(action="service_token.revoked", actor=officer).exists()


@pytest.mark.parametrize("role", ["Auditor", "Privacy agent"])
def test_other_roles_cannot_create_or_revoke(client, role):
    from api.services import service_token_create

    token, _ = service_token_create(service="shop", scopes=["consent:read"], actor=None)
    client.force_login(staff_in(role))

    assert client.get(reverse(ADD)).status_code == 403
    assert (
        client.post(reverse(ADD), {"service": "x", "scopes": ["consent:read"]}).status_code == 403
    )
    client.post(reverse(CHANGELIST), {"action": "revoke_tokens", "_selected_action": [token.pk]})

    assert ServiceToken.objects.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None
    expected = 200 if role == "Auditor" else 403
    assert client.get(reverse(CHANGELIST)).status_code == expected
