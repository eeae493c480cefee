"""A recipient that polls reads the state of its deletion notice, signed with its secret."""

import time

import pytest

from api.selectors import poll_message
from requests.delivery import sign
from requests.models import DeletionNotice, NoticeAttempt
from requests.register import recipient_secret_set
from tests.requests.factories import WholeAccountDeletionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def notice(recipient, staff):
    secret = recipient_secret_set(recipient=recipient, actor=staff)
    privacy_request = WholeAccountDeletionFactory(ground="4.2.4")
    notice = DeletionNotice.objects.create(
        request=privacy_request,
        recipient=recipient,
        status=DeletionNotice.Status.DELIVERED,
        categories=["phone_number"],
        subject_identifiers=["cust-42"],
        attempts=1,
    )
    NoticeAttempt.objects.create(notice=notice, status_code=200)
    return notice, secret


def signed(key, secret, timestamp=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "X-PrivacyPortal-Timestamp": timestamp,
        "X-PrivacyPortal-Signature": sign(poll_message(key=key, timestamp=timestamp), secret),
    }


def test_the_recipient_reads_its_notice(anonymous, notice):
    notice, secret = notice
    key = notice.idempotency_key

    response = anonymous.get(f"/notices/{key}", headers=signed(key, secret))

    assert response.status_code == 200, response.text
    data = response.json()
    assert data["subject_request_id"] == str(key)
    assert data["status"] == "delivered"
    assert data["attempts"] == 1
    assert data["subject_identities"] == ["cust-42"]
    assert data["last_attempt_at"] is not None
    assert data["acknowledged_at"] is None


def test_a_bad_signature_an_old_one_and_an_unknown_key_look_the_same(anonymous, notice):
    import uuid

    notice, secret = notice
    key = notice.idempotency_key
    unknown = uuid.uuid4()
    attempts = [
        (key, signed(key, "not-the-secret")),
        (key, signed(key, secret, timestamp=int(time.time()) - 3600)),
        (key, {**signed(key, secret), "X-PrivacyPortal-Signature": "sha256=é".encode()}),
        (key, {**signed(key, secret), "X-PrivacyPortal-Timestamp": "9" * 20}),
        (key, {}),
        (unknown, signed(unknown, secret)),
    ]

    bodies = set()
    for target, headers in attempts:
        response = anonymous.get(f"/notices/{target}", headers=headers)
        assert response.status_code == 403
        bodies.add(response.text)
    assert len(bodies) == 1
    assert anonymous.get("/notices/not-a-uuid").status_code in (404, 422)
