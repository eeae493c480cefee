"""Every staff role against every model in the admin registry: view, add, change, delete.

Generic over ``admin.site._registry``: a model registered later (the API's service tokens,
say) fails ``test_every_admin_model_is_classified`` until MATRIX says what each role may do
with it. Each cell is checked through the admin itself: the list (view), the add page
(add), a POST to the change page (change: refused is a 403 before any form is read), the
delete page (delete). tests/requests/test_roles.py checks the desk's actions one by one.
"""

import pytest
from django.contrib import admin
from django.contrib.admin.utils import quote
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory
from tests.requests.test_roles import AGENT, AUDITOR, NO_ROLE, OFFICER, ensure_roles

from .world import build_world

pytestmark = pytest.mark.django_db

V, A, C, D = "view", "add", "change", "delete"
ALL = {V, A, C, D}
LOOK = {V}
# What each role may do with each model (on the objects of tests/security/world.py); a role
# not named may do nothing. Requests, notices, disclosures and holds are not edited in the
# change form: they change through the desk's actions (tests/requests/test_roles.py), and a
# published policy version is read-only. Users are never deleted in the admin: an account
# ends through a deletion request, which honours holds and tells the recipients.
MATRIX = {
    # A token's page is read-only: revoking is a list action (tests/api/test_tokens.py).
    "api.servicetoken": {OFFICER: {V, A}, AUDITOR: LOOK},
    "auth.group": {OFFICER: ALL, AUDITOR: LOOK},
    "accounts.user": {OFFICER: {V, A, C}, AGENT: LOOK, AUDITOR: LOOK},
    "accounts.securityevent": {OFFICER: LOOK, AGENT: LOOK, AUDITOR: LOOK},
    "consents.datacategory": {OFFICER: {V, A, C}, AGENT: LOOK, AUDITOR: LOOK},
    "consents.purpose": {OFFICER: {V, A, C}, AGENT: LOOK, AUDITOR: LOOK},
    "consents.policyversion": {OFFICER: {V, A}, AGENT: LOOK, AUDITOR: LOOK},
    "consents.consentevent": {OFFICER: LOOK, AGENT: LOOK, AUDITOR: LOOK},
    "consents.consentstate": {OFFICER: LOOK, AGENT: LOOK, AUDITOR: LOOK},
    "consents.policyacceptance": {OFFICER: LOOK, AGENT: LOOK, AUDITOR: LOOK},
    "privacyportal.auditentry": {OFFICER: LOOK, AUDITOR: LOOK},
    "privacyportal.purgerun": {OFFICER: LOOK, AUDITOR: LOOK},
    "requests.privacyrequest": {OFFICER: LOOK, AGENT: LOOK, AUDITOR: LOOK},
    "requests.legalhold": {OFFICER: {V, A}, AGENT: LOOK, AUDITOR: LOOK},
    "requests.deletiontombstone": {OFFICER: LOOK, AGENT: LOOK, AUDITOR: LOOK},
    "requests.recipient": {OFFICER: {V, A, C}, AGENT: LOOK, AUDITOR: LOOK},
    "requests.disclosure": {OFFICER: {V, A}, AGENT: {V, A}, AUDITOR: LOOK},
    "requests.deletionnotice": {OFFICER: LOOK, AGENT: LOOK, AUDITOR: LOOK},
}
# Records of what happened are never edited or deleted through the admin, by anyone.
RECORDS = {
    "accounts.securityevent",
    "consents.consentevent",
    "consents.policyacceptance",
    "privacyportal.auditentry",
    "privacyportal.purgerun",
    "requests.deletiontombstone",
}


def test_every_admin_model_is_classified():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered - set(MATRIX) == set(), "say in MATRIX what each role may do with these"
    assert set(MATRIX) - registered == set(), "these models left the admin: drop them here"


def test_the_matrix_keeps_the_rules():
    for label, cells in MATRIX.items():
        assert cells.get(AUDITOR, set()) <= LOOK, label
        assert not cells.get(NO_ROLE), label
        if label in RECORDS:
            assert all(allowed <= LOOK for allowed in cells.values()), label


def what_happens(client, model, obj) -> set[str]:
    opts = model._meta
    name = f"admin:{opts.app_label}_{opts.model_name}"
    object_id = quote(obj.pk)
    statuses = {
        V: client.get(reverse(f"{name}_changelist")).status_code,
        A: client.get(reverse(f"{name}_add")).status_code,
        C: client.post(reverse(f"{name}_change", args=[object_id]), {}).status_code,
        D: client.get(reverse(f"{name}_delete", args=[object_id])).status_code,
    }
    unexpected = {a: s for a, s in statuses.items() if s not in (200, 302, 403)}
    assert not unexpected, f"{opts.label_lower}: {unexpected}"
    # A page is offered when it answers 200; a change is made unless it is refused (an
    # empty form re-rendered with its errors is a change the role may make).
    return {a for a, s in statuses.items() if s == 200 or (a == C and s != 403)}


@pytest.mark.parametrize("role", [OFFICER, AGENT, AUDITOR, NO_ROLE])
def test_each_role_may_do_what_the_matrix_says_and_nothing_else(client, media_root, role):
    roles = ensure_roles()
    build_world()
    staff = UserFactory(is_staff=True)
    if role != NO_ROLE:
        staff.groups.add(roles[role])
    client.force_login(User.objects.get(pk=staff.pk))
    wrong = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        obj = model._default_manager.order_by("pk").first()
        assert obj is not None, f"tests/security/world.py makes no {label}"
        allowed = set(MATRIX.get(label, {}).get(role, set()))
        actual = what_happens(client, model, obj)
        if actual != allowed:
            wrong[label] = f"allowed {sorted(allowed)}, happened {sorted(actual)}"
    assert wrong == {}, "\n".join(f"{label}: {text}" for label, text in wrong.items())


def test_staff_who_may_not_delete_recipients_are_not_told_their_names(client, media_root):
    roles = ensure_roles()
    build_world()
    from requests.models import Recipient

    recipient = Recipient.objects.get(name="Acme")
    for role in (AUDITOR, NO_ROLE):
        staff = UserFactory(is_staff=True)
        if role != NO_ROLE:
            staff.groups.add(roles[role])
        client.force_login(staff)
        response = client.get(reverse("admin:requests_recipient_delete", args=[recipient.pk]))
        assert response.status_code == 403, role
        assert "Acme" not in response.content.decode()
        assert not list(get_messages(response.wsgi_request))


def test_not_even_a_superuser_deletes_an_account_in_the_admin(client, media_root):
    world = build_world()
    client.force_login(world.staff)
    url = reverse("admin:accounts_user_delete", args=[world.owner.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert User.objects.filter(pk=world.owner.pk).exists()
