"""Roles change only as the design says: in reviewed migrations, and in the admin only by a
superuser, who still cannot grant a permission they do not hold.

Everyone else with access to the roles sees each role's permissions in words, in their
language, grouped by model; a POST to the role admin is refused and changes nothing.
"""

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from accounts.models import User
from accounts.selectors import permissions_held
from accounts.services import group_save
from privacyportal.models import AuditEntry
from tests.accounts.factories import UserFactory
from tests.requests.test_roles import AGENT, AUDITOR, OFFICER, ensure_roles

pytestmark = pytest.mark.django_db


def staff_in(role, roles):
    user = UserFactory(is_staff=True)
    user.groups.add(roles[role])
    return User.objects.get(pk=user.pk)


@pytest.fixture
def roles():
    return ensure_roles()


def permission(code):
    app_label, codename = code.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


@pytest.mark.parametrize("role", [OFFICER, AUDITOR])
def test_the_role_page_is_read_only_and_says_the_permissions_in_words(client, roles, role):
    client.force_login(staff_in(role, roles))
    agent = roles[AGENT]
    url = reverse("admin:auth_group_change", args=[agent.pk])

    client.cookies["django_language"] = "en"
    page = client.get(url)
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    body = page.content.decode()
    assert 'name="permissions"' not in body and 'name="name"' not in body
    assert "What this role may do" in body
    sections = {s.model: s.names for s in page.context["permissions_in_words"]}
    assert sections["Users and accounts › Users"] == ["View users"]
    assert "Can approve deletion requests" in sections["Privacy requests › Privacy requests"]
    assert sum(len(names) for names in sections.values()) == agent.permissions.count()

    client.cookies["django_language"] = "zh-hans"
    body = client.get(url).content.decode()
    assert "这个角色可以做什么" in body
    assert "查看用户" in body and "可批准删除请求" in body
    assert "Can view" not in body


@pytest.mark.parametrize("role", [OFFICER, AUDITOR, AGENT])
def test_no_one_but_a_superuser_changes_adds_or_deletes_a_role(client, roles, role):
    staff = staff_in(role, roles)
    client.force_login(staff)
    agent = roles[AGENT]
    before = set(agent.permissions.all())
    everything = list(Permission.objects.values_list("pk", flat=True))

    change = client.post(
        reverse("admin:auth_group_change", args=[agent.pk]),
        {"name": "Privacy agent", "permissions": everything},
    )
    add = client.post(reverse("admin:auth_group_add"), {"name": "Mine", "permissions": everything})
    delete = client.post(reverse("admin:auth_group_delete", args=[agent.pk]), {"post": "yes"})
    bulk = client.post(
        reverse("admin:auth_group_changelist"),
        {"action": "delete_selected", "_selected_action": [agent.pk], "post": "yes"},
    )

    assert change.status_code == add.status_code == delete.status_code == 403
    assert bulk.status_code in (200, 403)
    agent.refresh_from_db()
    assert set(agent.permissions.all()) == before
    assert not Group.objects.filter(name="Mine").exists()
    assert not AuditEntry.objects.filter(target_type="auth.group").exists()


def test_a_superuser_changes_a_role_with_an_audit_row(client, roles):
    boss = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(boss)
    scratch = Group.objects.create(name="Scratch")
    scratch.permissions.add(permission("accounts.view_user"))
    page = client.get(reverse("admin:auth_group_change", args=[scratch.pk]))
    offered = set(page.context["adminform"].form.fields["permissions"].queryset)
    assert offered == set(Permission.objects.all())

    response = client.post(
        reverse("admin:auth_group_change", args=[scratch.pk]),
        {"name": "Scratch", "permissions": [permission("requests.view_privacyrequest").pk]},
    )
    assert response.status_code == 302
    assert set(scratch.permissions.all()) == {permission("requests.view_privacyrequest")}
    entry = AuditEntry.objects.get(action="group.changed", target_id=str(scratch.pk))
    assert entry.actor == boss
    assert entry.details["permissions"] == {
        "added": ["requests.view_privacyrequest"],
        "removed": ["accounts.view_user"],
    }

    client.post(reverse("admin:auth_group_delete", args=[scratch.pk]), {"post": "yes"})
    assert not Group.objects.filter(pk=scratch.pk).exists()
    assert AuditEntry.objects.filter(action="group.deleted", target_id=str(scratch.pk)).exists()


def test_the_service_refuses_whoever_is_not_a_superuser(roles):
    officer = staff_in(OFFICER, roles)
    assert officer.has_perm("auth.change_group")  # the role still carries it (migration 0002)
    scratch = Group.objects.create(name="Scratch")
    with pytest.raises(PermissionDenied):
        group_save(actor=officer, group=scratch, permissions=[])
    assert not AuditEntry.objects.filter(target_type="auth.group").exists()


def test_nobody_grants_a_permission_they_do_not_hold(roles):
    """What a superuser holds is everything; anyone else holds their roles' permissions, and an
    inactive account holds nothing, so even a deactivated superuser grants nothing."""
    officer = staff_in(OFFICER, roles)
    held = set(permissions_held(user=officer))
    assert held == set(roles[OFFICER].permissions.all())
    assert permission("auth.add_permission") not in held

    former = UserFactory(is_staff=True, is_superuser=True, is_active=False)
    assert not permissions_held(user=former).exists()
    with pytest.raises(PermissionDenied):
        group_save(
            actor=former, group=Group(name="Mine"), permissions=[permission("auth.add_group")]
        )
    assert not Group.objects.filter(name="Mine").exists()
