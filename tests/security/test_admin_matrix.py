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
from django.contrib.auth.models import Group
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.models import User
from privacyportal.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.requests.test_roles import AGENT, AUDITOR, NO_ROLE, OFFICER, ensure_roles

from .world import PASSWORD, build_world

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
    # Second factors: superusers only (the reset action); no role sees them.
    "mfa.authenticator": {},
    # A token's page is read-only: revoking is a list action (tests/api/test_tokens.py).
    "api.servicetoken": {OFFICER: {V, A}, AUDITOR: LOOK},
    # Roles change in reviewed migrations; in the admin only a superuser edits them.
    "auth.group": {OFFICER: LOOK, AUDITOR: LOOK},
    # The first account is the world's superuser, which an officer may not change; USER_ADMIN
    # below says what each role may do to each kind of account.
    "accounts.user": {OFFICER: {V, A}, AGENT: LOOK, AUDITOR: LOOK},
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


# --- the user admin: every role against every kind of account ------------------------------

SUPERUSER = "superuser"
END_USER = "end user"
ACTORS = [OFFICER, AGENT, AUDITOR, NO_ROLE, SUPERUSER]
TARGETS = [END_USER, OFFICER, AGENT, AUDITOR, NO_ROLE, SUPERUSER]
NEW_PASSWORD = "another long passphrase 84"
# What the actor gets on the target's change page: "edit" (the form, and a POST changes the
# account), "look" (read-only; a POST is refused) or "none" (403). "edit" also opens the
# password page; anything else is a 403 there, GET and POST.
MANAGE, SEE, NONE = "edit", "look", "none"
USER_ADMIN = {
    SUPERUSER: dict.fromkeys(TARGETS, MANAGE),
    # An officer manages end users, never a staff account or a superuser.
    OFFICER: {**dict.fromkeys(TARGETS, SEE), END_USER: MANAGE},
    AGENT: dict.fromkeys(TARGETS, SEE),
    AUDITOR: dict.fromkeys(TARGETS, SEE),
    NO_ROLE: dict.fromkeys(TARGETS, NONE),
}


def account(kind, roles, **fields):
    if kind == END_USER:
        return UserFactory(password=PASSWORD, **fields)
    user = UserFactory(is_staff=True, is_superuser=kind == SUPERUSER, password=PASSWORD, **fields)
    if kind in roles:
        user.groups.add(roles[kind])
    return User.objects.get(pk=user.pk)  # no cached permissions


def change_form_data(target, **changes):
    """The change form as the page fills it for the target, with ``changes`` on top."""
    data = {
        "phone": str(target.phone),
        "phone_verified": "on",
        "nickname": target.nickname,
        "is_active": "on",
        "groups": [g.pk for g in target.groups.all()],
        "user_permissions": [],
    }
    if target.is_staff:
        data["is_staff"] = "on"
    if target.is_superuser:
        data["is_superuser"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def user_admin_outcome(client, target) -> dict[str, object]:
    """What the actor's client gets from the target's change page and password page."""
    change_url = reverse("admin:accounts_user_change", args=[target.pk])
    password_url = reverse("admin:auth_user_password_change", args=[target.pk])
    before = User.objects.get(pk=target.pk)
    page = client.get(change_url)
    if page.status_code == 200:
        seen = MANAGE if page.context["has_change_permission"] else SEE
    else:
        assert page.status_code == 403, page.status_code
        seen = NONE
    posted = client.post(
        change_url,
        change_form_data(
            before, phone=f"+86136{target.pk:08d}", nickname="Changed", is_active=None
        ),
    )
    password_page = client.get(password_url).status_code
    password_post = client.post(
        password_url,
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "set-password": "1"},
    )
    after = User.objects.get(pk=target.pk)
    changed = (after.nickname, str(after.phone), after.is_active) != (
        before.nickname,
        str(before.phone),
        before.is_active,
    )
    return {
        "page": seen,
        "post": posted.status_code,
        "changed": changed,
        "kept privileges": (after.is_staff, after.is_superuser, set(after.groups.all()))
        == (before.is_staff, before.is_superuser, set(before.groups.all())),
        "password page": password_page,
        "password post": password_post.status_code,
        "password changed": after.check_password(NEW_PASSWORD),
        "audit rows": set(
            AuditEntry.objects.filter(
                target_type="accounts.user", target_id=str(target.pk)
            ).values_list("action", flat=True)
        ),
    }


def expected_outcome(what: str) -> dict[str, object]:
    managed = what == MANAGE
    return {
        "page": what,
        "post": 302 if managed else 403,
        "changed": managed,
        "kept privileges": True,
        "password page": 200 if managed else 403,
        "password post": 302 if managed else 403,
        "password changed": managed,
        "audit rows": {"user.changed", "user.password_set"} if managed else set(),
    }


@pytest.mark.parametrize("actor_kind", ACTORS)
def test_the_user_admin_lets_each_role_manage_only_accounts_below_it(client, actor_kind):
    """Change page (GET, POST) and password page (GET, POST) of every kind of account."""
    roles = ensure_roles()
    actor = account(actor_kind, roles)
    client.force_login(actor)
    wrong = {}
    for n, target_kind in enumerate(TARGETS):
        target = account(target_kind, roles, nickname=f"Target {n}")
        expected = expected_outcome(USER_ADMIN[actor_kind][target_kind])
        actual = user_admin_outcome(client, target)
        if actual != expected:
            wrong[target_kind] = {
                k: f"expected {expected[k]!r}, got {v!r}"
                for k, v in actual.items()
                if v != expected[k]
            }
    assert wrong == {}, "\n".join(f"{actor_kind} -> {t}: {d}" for t, d in wrong.items())


@pytest.mark.parametrize("actor_kind", [OFFICER, SUPERUSER])
def test_no_one_changes_their_own_account_beyond_their_privilege(client, actor_kind):
    roles = ensure_roles()
    actor = account(actor_kind, roles)
    client.force_login(actor)
    url = reverse("admin:accounts_user_change", args=[actor.pk])
    response = client.post(
        url,
        change_form_data(actor, is_superuser="on", groups=[g.pk for g in Group.objects.all()]),
    )
    actor.refresh_from_db()
    if actor_kind == OFFICER:
        assert response.status_code == 403
        assert not actor.is_superuser
        assert set(actor.groups.all()) == {roles[OFFICER]}
        assert not AuditEntry.objects.filter(target_id=str(actor.pk)).exists()
    else:
        assert response.status_code == 302
        assert set(actor.groups.all()) == set(Group.objects.all())


def test_an_officer_cannot_make_an_end_user_staff_or_give_them_a_role(client):
    roles = ensure_roles()
    officer = account(OFFICER, roles)
    target = account(END_USER, roles)
    client.force_login(officer)
    response = client.post(
        reverse("admin:accounts_user_change", args=[target.pk]),
        change_form_data(
            target,
            nickname="Promoted",
            is_staff="on",
            is_superuser="on",
            groups=[roles[OFFICER].pk],
        ),
    )
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.nickname == "Promoted"
    assert not target.is_staff and not target.is_superuser and not target.groups.exists()
    entry = AuditEntry.objects.get(action="user.changed", target_id=str(target.pk))
    assert entry.actor == officer
    assert entry.details["fields"] == ["nickname"]


def test_every_change_to_a_staff_account_is_an_audit_row(client):
    roles = ensure_roles()
    boss = account(SUPERUSER, roles)
    agent = account(AGENT, roles)
    client.force_login(boss)
    response = client.post(
        reverse("admin:accounts_user_change", args=[agent.pk]),
        change_form_data(agent, is_active=None, groups=[roles[AUDITOR].pk]),
    )
    assert response.status_code == 302
    agent.refresh_from_db()
    assert not agent.is_active and set(agent.groups.all()) == {roles[AUDITOR]}
    entry = AuditEntry.objects.get(action="user.changed", target_id=str(agent.pk))
    assert entry.actor == boss
    assert entry.details == {
        "fields": ["groups", "is_active"],
        "staff": True,
        "groups": {"added": [AUDITOR], "removed": [AGENT]},
    }
    client.post(
        reverse("admin:auth_user_password_change", args=[agent.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )
    agent.refresh_from_db()
    assert not agent.has_usable_password()
    assert AuditEntry.objects.filter(
        action="user.password_removed", target_id=str(agent.pk), actor=boss
    ).exists()
