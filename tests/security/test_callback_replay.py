"""Issue 19 point 6: a recipient's confirmation cannot be replayed.

The confirmation signs its time and the attempt it answers with the body
(``X-PrivacyPortal-Signature: sha256=HMAC(secret, "<timestamp>.<attempt>.<body>")``); the
portal accepts it within ``NOTICE_CALLBACK_MAX_AGE`` seconds, once, and only for an attempt
made since the notice was last sent again by staff.
"""

import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse

from requests import propagation
from requests.models import DeletionNotice, NoticeCallback, RequestEvent
from tests.accounts.factories import UserFactory
from tests.requests.factories import NoticeFactory

from .notice_helpers import local_server

pytestmark = pytest.mark.django_db

Status = DeletionNotice.Status


@pytest.fixture
def recipient_server(settings):
    settings.OUTGOING_ALLOWED_HOSTS = ["127.0.0.1"]
    with local_server() as server:
        yield server


@pytest.fixture
def notice(recipient_server):
    """A notice posted once to the recipient, who has not confirmed it yet."""
    notice = NoticeFactory(endpoint=f"http://127.0.0.1:{recipient_server.server_port}/dsr")
    propagation.notices_deliver([notice.pk])
    notice.refresh_from_db()
    assert notice.status == Status.DELIVERED
    return notice


def confirmation(notice, *, attempt, timestamp=None, status="completed"):
    """What the recipient sends back, signed the documented way."""
    body = json.dumps(
        {"subject_request_id": str(notice.idempotency_key), "request_status": status}
    ).encode()
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    message = f"{timestamp}.{attempt}.".encode() + body
    digest = hmac.new(notice.recipient.secret.encode(), message, hashlib.sha256).hexdigest()
    return body, {
        "HTTP_X_PRIVACYPORTAL_TIMESTAMP": timestamp,
        "HTTP_X_PRIVACYPORTAL_ATTEMPT": str(attempt),
        "HTTP_X_PRIVACYPORTAL_SIGNATURE": f"sha256={digest}",
    }


def send(client, notice, body, headers):
    return client.post(
        reverse("notice_callback", kwargs={"key": notice.idempotency_key}),
        data=body,
        content_type="application/json",
        **headers,
    )


def state(notice):
    notice.refresh_from_db()
    return (
        notice.status,
        notice.acknowledged_at,
        RequestEvent.objects.filter(request=notice.request).count(),
        NoticeCallback.objects.filter(notice=notice).count(),
    )


def test_each_post_names_its_attempt(recipient_server, notice):
    [(path, headers, body)] = recipient_server.received
    assert headers["X-PrivacyPortal-Attempt"] == "1"
    assert headers["X-PrivacyPortal-Signature"] == propagation.sign(body, notice.recipient.secret)


def test_the_right_confirmation_is_accepted(client, notice):
    response = send(client, notice, *confirmation(notice, attempt=1))

    assert response.status_code == 200, response.content
    assert response.json()["status"] == Status.ACKNOWLEDGED
    notice.refresh_from_db()
    assert notice.status == Status.ACKNOWLEDGED
    [callback] = NoticeCallback.objects.filter(notice=notice)
    assert callback.attempt == 1


def test_the_same_confirmation_sent_again_is_refused_and_changes_nothing(client, notice):
    body, headers = confirmation(notice, attempt=1)
    assert send(client, notice, body, headers).status_code == 200
    before = state(notice)

    response = send(client, notice, body, headers)

    assert response.status_code == 409
    assert state(notice) == before


def test_a_confirmation_replayed_after_staff_send_the_notice_again_is_refused(
    client, recipient_server, notice
):
    # The recipient's answer to the first attempt, captured on the way (it never arrived).
    captured = confirmation(notice, attempt=1)
    propagation.notice_retry(notice=notice, actor=UserFactory(is_staff=True))
    propagation.notices_deliver([notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.attempt_number) == (Status.DELIVERED, 2)
    assert recipient_server.received[-1][1]["X-PrivacyPortal-Attempt"] == "2"
    before = state(notice)

    response = send(client, notice, *captured)

    assert response.status_code == 409
    assert state(notice) == before
    # The answer to the attempt made after the re-opening is the one that counts.
    assert send(client, notice, *confirmation(notice, attempt=2)).status_code == 200
    notice.refresh_from_db()
    assert notice.status == Status.ACKNOWLEDGED


@pytest.mark.parametrize("age", [301, -301, 86400])
def test_a_confirmation_outside_the_time_window_is_refused(client, notice, settings, age):
    settings.NOTICE_CALLBACK_MAX_AGE = 300
    before = state(notice)

    response = send(client, notice, *confirmation(notice, attempt=1, timestamp=time.time() - age))

    assert response.status_code == 403
    assert state(notice) == before


def test_a_confirmation_signed_over_the_body_alone_is_refused(client, notice):
    body, headers = confirmation(notice, attempt=1)
    headers["HTTP_X_PRIVACYPORTAL_SIGNATURE"] = propagation.sign(body, notice.recipient.secret)
    before = state(notice)

    assert send(client, notice, body, headers).status_code == 403
    assert state(notice) == before


def test_the_timestamp_or_attempt_cannot_be_changed_after_signing(client, notice):
    body, headers = confirmation(notice, attempt=1, timestamp=time.time() - 600)
    fresh = dict(headers, HTTP_X_PRIVACYPORTAL_TIMESTAMP=str(int(time.time())))
    other_attempt = dict(confirmation(notice, attempt=1)[1], HTTP_X_PRIVACYPORTAL_ATTEMPT="2")
    before = state(notice)

    assert send(client, notice, body, fresh).status_code == 403
    assert send(client, notice, body, other_attempt).status_code == 403
    assert state(notice) == before


def test_a_confirmation_for_an_attempt_not_yet_made_is_refused(client, notice):
    before = state(notice)

    assert send(client, notice, *confirmation(notice, attempt=5)).status_code == 409
    assert state(notice) == before
