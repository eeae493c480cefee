from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from accounts.models import SecurityEvent
from privacyportal.registry import registry
from tests.accounts.factories import UserFactory


def models_referring_to_users():
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for model in apps.get_models():
        if model is user_model:
            yield model
            continue
        for field in model._meta.get_fields():
            if field.is_relation and field.concrete and field.related_model is user_model:
                yield model
                break


def test_every_model_that_refers_to_a_user_is_registered_or_exempted_with_a_reason():
    missing = [
        m._meta.label for m in models_referring_to_users() if m not in registry.covered_models()
    ]
    assert missing == [], (
        "Register these in the personal-data registry (privacyportal/registry.py), "
        f"or exempt them with a reason: {missing}"
    )


def test_the_check_sees_user_references():
    labels = {m._meta.label for m in models_referring_to_users()}
    assert {"accounts.User", "accounts.SecurityEvent", "admin.LogEntry"} <= labels


def test_every_kind_is_complete():
    for kind in registry.kinds():
        assert kind.label and kind.description and kind.fields, kind.code
        assert callable(kind.erase), kind.code
        model_fields = {f.name for f in kind.model._meta.get_fields()}
        assert {f.name.split("__")[0] for f in kind.fields} <= model_fields, kind.code
        if kind.retention is not None:
            assert kind.purge_expired is not None and kind.timestamp_field, kind.code


@pytest.mark.django_db
def test_rows_for_user_return_only_that_users_data():
    me, other = UserFactory(), UserFactory()
    SecurityEvent.objects.create(user=me, kind=SecurityEvent.Kind.SIGNED_IN)
    SecurityEvent.objects.create(user=other, kind=SecurityEvent.Kind.SIGNED_IN)
    rows = list(registry.get("security_events").rows_for_user(me))
    assert len(rows) == 1
    assert [row["phone"] for row in registry.get("account").rows_for_user(me)] == [me.phone]


@pytest.mark.django_db
def test_erase_removes_the_users_data_only():
    me, other = UserFactory(nickname="me"), UserFactory(nickname="other")
    for user in (me, other):
        SecurityEvent.objects.create(user=user, kind=SecurityEvent.Kind.SIGNED_IN)
    assert registry.get("security_events").erase(me) == 1
    assert registry.get("account").erase(me) == 1
    me.refresh_from_db()
    other.refresh_from_db()
    assert me.nickname == "" and other.nickname == "other"
    # Security logs are restricted, not deleted: the law keeps them for their storage period.
    assert not SecurityEvent.objects.filter(user=me).exists()
    assert SecurityEvent.all_objects.get(user=me).restricted_at is not None
    assert SecurityEvent.objects.filter(user=other).count() == 1


@pytest.mark.django_db
def test_purge_expired_deletes_only_what_outlived_its_storage_period_in_batches():
    kind = registry.get("security_events")
    user = UserFactory()
    now = timezone.now()
    old = [
        SecurityEvent(
            user=user, kind=SecurityEvent.Kind.SIGNED_IN, occurred_at=now - timedelta(days=181)
        )
        for _ in range(7)
    ]
    fresh = SecurityEvent(
        user=user, kind=SecurityEvent.Kind.SIGNED_IN, occurred_at=now - timedelta(days=179)
    )
    SecurityEvent.objects.bulk_create([*old, fresh])
    assert kind.purge_expired(kind.expires_before(now), batch_size=3) == 7
    assert list(SecurityEvent.objects.values_list("pk", flat=True)) == [fresh.pk]


def test_coded_fields_declare_their_labels_once_for_pages_and_copies():
    from django.utils import translation

    from requests.models import PrivacyRequest

    status = next(f for f in registry.get("privacy_requests").fields if f.name == "status")
    verified = next(f for f in registry.get("account").fields if f.name == "phone_verified")
    with translation.override("zh-hans"):
        # The pages' display comes from the same declaration as the copy's labels.
        assert status.display("in_progress") == "处理中" == status.labeller()("in_progress")
        assert status.choice_labels() == {
            value: str(label) for value, label in PrivacyRequest.Status.choices
        }
        assert verified.display(True) == "是" and verified.display(False) == "否"
    with translation.override("en"):
        assert status.display("in_progress") == "In progress"
    # A value outside the choices reads as itself, and an empty one as nothing.
    assert status.labeller()("unknown") == "unknown" and status.labeller()(None) == ""


def test_every_file_field_is_a_file_of_its_kinds_model():
    from django.db.models import FileField

    files = [(k, f) for k in registry.kinds() for f in k.fields if f.is_file]
    assert [(k.code, f.name) for k, f in files] == [("account", "avatar")]
    for kind, data_field in files:
        assert isinstance(kind.model._meta.get_field(data_field.name), FileField)
