import pytest
from django.urls import reverse

from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize("typed", ["13800138000", "138 0013 8000", "+86 138-0013-8000", "38000"])
def test_users_are_searchable_by_phone_number_as_typed(staff_client, typed):
    wanted = UserFactory(phone="+8613800138000", nickname="wanted")
    UserFactory(phone="+8613900139000", nickname="other")
    response = staff_client.get(reverse("admin:accounts_user_changelist"), {"q": typed})
    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert shown == [wanted]


def test_staff_can_add_a_user_by_phone(staff_client):
    from django.contrib.auth import get_user_model

    response = staff_client.post(
        reverse("admin:accounts_user_add"), {"phone": "139 0013 9000", "usable_password": "false"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    user = get_user_model().objects.get(phone="+8613900139000")
    assert not user.has_usable_password()


def test_security_events_are_read_only_in_admin(staff_client):
    from accounts.models import SecurityEvent

    event = SecurityEvent.objects.create(user=UserFactory(), kind=SecurityEvent.Kind.SIGNED_IN)
    assert staff_client.get(reverse("admin:accounts_securityevent_changelist")).status_code == 200
    change = staff_client.post(
        reverse("admin:accounts_securityevent_change", args=[event.pk]), {"kind": "signed_out"}
    )
    assert change.status_code == 403
    event.refresh_from_db()
    assert event.kind == SecurityEvent.Kind.SIGNED_IN


def test_a_phone_search_stays_within_the_list_filters(staff_client):
    UserFactory(phone="+8613800138000", is_staff=False)
    response = staff_client.get(
        reverse("admin:accounts_user_changelist"), {"q": "138 0013 8000", "is_staff__exact": "1"}
    )
    assert list(response.context["cl"].result_list) == []


def test_only_a_superuser_can_make_superusers_or_grant_single_permissions(client):
    from django.contrib.auth.models import Permission

    officer = UserFactory(is_staff=True)
    officer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_user", "change_user"])
    )
    client.force_login(officer)
    response = client.get(reverse("admin:accounts_user_change", args=[officer.pk]))
    form = response.context["adminform"].form
    assert "is_superuser" not in form.fields and "user_permissions" not in form.fields
