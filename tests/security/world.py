"""One of everything a URL can point at, so every route of the URLconf can be fetched.

Used in the test process and, unchanged, in the production-mode subprocess
(``pages.production_report``), which builds it inside a transaction it rolls back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils import timezone

PASSWORD = "a long passphrase 42"
OWNER_PHONE = "+8613800138000"
STAFF_PHONE = "+8613700137000"


@dataclass
class World:
    owner: object
    staff: object
    values: dict[str, list[str]]


def build_world() -> World:
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.models import BrowsingRecord, SecurityEvent
    from accounts.services import activity_record, security_event_record
    from api.services import service_token_create
    from consents.models import Purpose
    from consents.seed import seed
    from consents.services import consent_grant
    from help.topics import TOPICS
    from privacyportal.health import heartbeat_record
    from privacyportal.models import PurgeRun
    from requests import services
    from requests.models import DeletionNotice, PrivacyRequest
    from tests.accounts.factories import UserFactory
    from tests.requests.factories import (
        AccessFactory,
        DeletionFactory,
        QuestionFactory,
        RecipientFactory,
        disclose,
    )

    Kind = PrivacyRequest.Kind
    seed(apps)
    staff = UserFactory(phone=STAFF_PHONE, is_staff=True, is_superuser=True, password=PASSWORD)
    owner = UserFactory(phone=OWNER_PHONE, nickname="owner", password=PASSWORD)
    now = timezone.now()

    recipient = RecipientFactory(name="Acme")
    # Browsing records: in the scope of the deletion below, so that it makes a notice.
    disclose(owner, recipient, "ID-1", "browsing_records")
    deletion = DeletionFactory(user=owner, verified_at=now, approved_by=staff)
    access = AccessFactory(user=owner, verified_at=now)
    question = QuestionFactory(user=owner, details="Why?")

    # After the deletion, which erased the browsing records.
    event = consent_grant(user=owner, purpose=Purpose.objects.get(code="personalisation"))
    record = activity_record(user=owner, kind=BrowsingRecord.Kind.SEARCH, text="cookies")
    security_event_record(user=owner, kind=SecurityEvent.Kind.SIGNED_IN)
    services.legal_hold_set(user=UserFactory(), reason="Court order", actor=staff)
    PurgeRun.objects.create(run=uuid.uuid4(), target="browsing_records", finished_at=now)
    Group.objects.get_or_create(name="Scratch")
    service_token_create(service="shop", scopes=["consent:read"], actor=staff)
    EmailAddress.objects.create(user=staff, email="staff@example.cn", verified=True, primary=True)
    # Another staff member with a second factor (the world's superuser has none: in DEBUG the
    # desk opens without one).
    TOTP.activate(UserFactory(is_staff=True), generate_totp_secret())

    notice = DeletionNotice.objects.get(request=deletion)
    # A worker answered just now, so /health/ is a 200 page like the rest.
    heartbeat_record(hostname="world@test")
    values = {
        "reference": [str(r.reference) for r in (question, access, deletion)],
        "pk": [str(record.pk)],
        "receipt_id": [str(event.receipt_id)],
        "code": [p.code for p in Purpose.objects.order_by("code")],
        "kind": list(Kind.values),
        "number": ["1"],
        "slug": [TOPICS[0].slug],
        "key": [str(notice.idempotency_key)],
        "uidb36": ["1"],
        # The internal API's paths (tests/api covers its answers; here, its headers).
        "user_id": [str(owner.pk)],
        "purpose": ["personalisation"],
        "rest": ["no-such-endpoint"],
    }
    return World(owner=owner, staff=staff, values=values)
