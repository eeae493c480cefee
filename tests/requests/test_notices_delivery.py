"""Deletion notices delivered over real HTTP by a real Celery worker (DESIGN §2 steps 1-5).

The worker runs in a thread of this process (``start_worker``, as in
tests/privacyportal/test_celery_worker.py) on the Redis broker; the recipients are
``RecipientServer`` instances on 127.0.0.1, which confirm each deletion through the
portal's signed callback, served by pytest-django's ``live_server``.
"""

import json
import socket
import time
from datetime import timedelta

import pytest
from celery import signals
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.db import connections
from django.utils import translation

from consents.models import DataCategory
from privacyportal import celery_app
from requests import propagation
from requests.models import (
    DeletionNotice,
    PrivacyRequest,
    RequestEvent,
)
from tests.accounts.factories import UserFactory
from tests.privacyportal.test_celery_worker import celery_leaves_logging_alone  # noqa: F401
from tests.requests.factories import (
    DeletionFactory,
    RecipientFactory,
    disclose,
    served_recipient,
)
from tests.requests.recipient_server import RecipientServer, sign, sign_callback

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

Status = DeletionNotice.Status
WAIT = 20
OFFICERS = ["dpo@example.com", "privacy-team@example.com"]


@pytest.fixture
def portal(settings, live_server):
    """The portal reachable for callbacks, quick retries, staff alerts in memory."""
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: these tests need a real Redis broker.")
    settings.PORTAL_BASE_URL = live_server.url
    # The recipients here are servers on this machine: let the outgoing guard reach them.
    settings.OUTGOING_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.NOTICE_BACKOFF_BASE = 0.05
    settings.NOTICE_BACKOFF_MAX = 1.0
    settings.NOTICE_MAX_ATTEMPTS = 3
    settings.NOTICE_TIMEOUT = 5.0
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PRIVACY_OFFICER_EMAILS = OFFICERS
    mail.outbox = []
    return live_server


def _close_worker_connections(**kwargs):
    connections.close_all()


@pytest.fixture
def worker(portal, celery_leaves_logging_alone):  # noqa: F811
    """A worker thread in this process. Workers keep their database connection across
    tasks (CELERY_DB_REUSE_MAX); this thread's would outlive the test and keep the test
    database from being dropped, so it closes them after each task."""
    celery_app.control.purge()
    signals.task_postrun.connect(_close_worker_connections, weak=False)
    try:
        with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            yield
    finally:
        signals.task_postrun.disconnect(_close_worker_connections)


@pytest.fixture
def server():
    with RecipientServer() as recipient:
        yield recipient


@pytest.fixture
def staff():
    return UserFactory(is_staff=True)


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def wait_until(predicate, timeout=WAIT, what="the condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def wait_confirmed(privacy_request, server, count):
    """Every notice confirmed in the DB, and the recipient has recorded the portal's answers."""
    wait_until(
        lambda: statuses(privacy_request) == [Status.ACKNOWLEDGED] * count,
        what=f"{count} confirmation(s)",
    )
    wait_until(server.acks_settled, what="the recipient to record the callbacks' answers")


def statuses(privacy_request):
    return sorted(privacy_request.notices.values_list("status", flat=True))


def categories(*codes):
    return sorted(DataCategory.objects.filter(code__in=codes).values_list("code", flat=True))


def test_an_approved_deletion_is_delivered_to_each_recipient_and_confirmed(
    worker, server, staff, client, portal
):
    user = UserFactory()
    shop = served_recipient(server, "/r1", staff=staff, name="Shop Partner")
    courier = served_recipient(server, "/r2", staff=staff, name="Courier Co")
    # The deletion's scope is browsing and search records: the number is not in it.
    disclose(user, shop, "shop-customer-42", "browsing_records", "search_records")
    disclose(user, courier, "order-7", "search_records")
    disclose(user, courier, "order-9", "browsing_records", "phone_number")

    privacy_request = DeletionFactory(user=user, approved_by=staff)
    assert privacy_request.notices.count() == 2

    wait_confirmed(privacy_request, server, 2)
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED

    expected = {
        "/r1": (shop, ["shop-customer-42"], categories("browsing_records", "search_records")),
        "/r2": (courier, ["order-7", "order-9"], categories("browsing_records", "search_records")),
    }
    for path, (recipient, identifiers, cats) in expected.items():
        notice = privacy_request.notices.get(recipient=recipient)
        key = str(notice.idempotency_key)
        (received,) = server.received(path=path)  # exactly one message per recipient
        assert received.signature_valid
        assert received.headers["x-privacyportal-signature"] == sign(
            received.body, server.secrets[path]
        )
        assert received.headers["idempotency-key"] == key
        assert received.headers["content-type"] == "application/json"
        message = received.json
        assert message["api_version"] == "0.1"
        assert message["subject_request_id"] == key
        assert message["subject_request_type"] == "erasure"
        assert message["submitted_time"]
        assert [i["identity_value"] for i in message["subject_identities"]] == identifiers
        assert {i["identity_type"] for i in message["subject_identities"]} == {
            "controller_customer_id"
        }
        assert message["status_callback_urls"] == [f"{portal.url}/api/notices/{key}/callback/"]
        extension = message["extensions"]["privacyportal"]
        assert extension["categories"] == cats
        assert extension["request_reference"] == str(privacy_request.reference)
        assert extension["recipient"] == recipient.name
        assert received.headers["x-privacyportal-attempt"] == "1"
        (ack,) = server.acks_for(key)
        assert ack.attempt == "1"
        assert ack.status_code == 200
        assert ack.response == {"subject_request_id": key, "status": "acknowledged"}
        assert notice.acknowledged_at is not None
        assert [a.status_code for a in notice.attempt_log.all()] == [200]

    acknowledged = privacy_request.events.filter(
        action=RequestEvent.Action.NOTICE_ACKNOWLEDGED
    ).values_list("details__recipient", flat=True)
    assert sorted(acknowledged) == sorted([shop.name, courier.name])
    assert privacy_request.events.filter(action=RequestEvent.Action.COMPLETED).count() == 1

    # The user's own page lists both recipients as confirmed (the block is data-testid=notices;
    # without it, the assertions on the rows above are what stands).
    client.force_login(user)
    response = client.get(f"/account/requests/{privacy_request.reference}/")
    assert response.status_code == 200
    html = response.content.decode()
    if 'data-testid="notices"' in html:
        block = html.split('data-testid="notices"', 1)[1].split("</ul>", 1)[0]
        assert shop.name in block and courier.name in block
        assert block.count('data-state="acknowledged"') == 2


def test_a_recipient_failing_twice_gets_the_notice_once_it_answers(worker, server, staff):
    user = UserFactory()
    flaky = served_recipient(server, "/r2", staff=staff, name="Flaky Ltd")
    disclose(user, flaky, "flaky-1", "browsing_records")
    server.script_path("/r2", [500, 500, 200])

    privacy_request = DeletionFactory(user=user, approved_by=staff)
    wait_confirmed(privacy_request, server, 1)

    notice = privacy_request.notices.get()
    posts = server.received(path="/r2")
    assert [r.answered for r in posts] == [500, 500, 200]
    assert {r.key for r in posts} == {str(notice.idempotency_key)}
    assert len({r.body for r in posts}) == 1  # the same signed message each time
    assert [a.status_code for a in notice.attempt_log.all()] == [500, 500, 200]
    assert notice.attempts == 3
    assert notice.last_error == ""
    assert len(server.acks_for(notice.idempotency_key)) == 1
    assert len(server.acks) == 1
    assert mail.outbox == []  # it never failed for good
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED


@pytest.fixture
def closed_port():
    """A port nothing listens on: bound but not listening, so it refuses connections and
    no other server can take it while the test runs."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield reserved.getsockname()[1]


def test_a_recipient_that_is_down_fails_alerts_staff_and_is_retried_by_staff(
    worker, server, staff, closed_port
):
    user = UserFactory()
    down = RecipientFactory(
        name="Down Inc", endpoint=f"http://127.0.0.1:{closed_port}/r3", secret=staff
    )
    server.secrets["/r3"] = down.plain_secret
    disclose(user, down, "down-1", "browsing_records")

    privacy_request = DeletionFactory(user=user, approved_by=staff)
    wait_until(lambda: statuses(privacy_request) == [Status.FAILED], what="the notice to fail")
    wait_until(lambda: len(mail.outbox) == 1, what="the staff alert")

    notice = privacy_request.notices.get()
    assert notice.attempts == 3
    assert notice.next_attempt_at is None
    assert notice.last_error == "ConnectError"
    attempts = list(notice.attempt_log.all())
    assert [(a.status_code, a.error) for a in attempts] == [(None, "ConnectError")] * 3
    # Exponential backoff with jitter: the attempts are spread, not back to back.
    assert attempts[2].started_at - attempts[0].started_at >= timedelta(seconds=0.05)
    (alert,) = mail.outbox
    assert alert.to == OFFICERS
    assert "Down Inc" in alert.subject
    assert str(notice.idempotency_key) in alert.body
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.PROPAGATING
    assert server.requests == []

    # The recipient is back (at a working address); staff retry from the desk.
    down.endpoint = server.endpoint("/r3")
    down.save(update_fields=["endpoint"])
    propagation.notice_retry(notice=notice, actor=staff)
    wait_confirmed(privacy_request, server, 1)

    notice.refresh_from_db()
    assert notice.attempts == 1  # counted afresh after the staff retry
    assert [a.status_code for a in notice.attempt_log.all()] == [None, None, None, 200]
    (received,) = server.received(path="/r3")
    assert received.signature_valid
    assert len(server.acks_for(notice.idempotency_key)) == 1
    assert len(mail.outbox) == 1  # no second alert
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED


def test_a_callback_with_a_bad_signature_is_refused_and_changes_nothing(
    worker, staff, client, portal
):
    # This recipient takes the notice but never confirms on its own.
    with RecipientServer(ack=False) as quiet:
        user = UserFactory()
        recipient = served_recipient(quiet, "/r1", staff=staff, name="Quiet GmbH")
        disclose(user, recipient, "quiet-1", "browsing_records")
        privacy_request = DeletionFactory(user=user, approved_by=staff)
        wait_until(lambda: statuses(privacy_request) == [Status.DELIVERED], what="delivery")

    notice = privacy_request.notices.get()
    key = str(notice.idempotency_key)
    url = f"/api/notices/{key}/callback/"
    body = json.dumps({"subject_request_id": key, "request_status": "completed"}).encode()
    events_before = list(privacy_request.events.values_list("pk", flat=True))
    secret = quiet.secrets["/r1"]
    timestamp = str(int(time.time()))

    def signed(signature, *, attempt="1", at=timestamp):
        return {
            propagation.TIMESTAMP_HEADER: at,
            propagation.ATTEMPT_HEADER: attempt,
            propagation.SIGNATURE_HEADER: signature,
        }

    right = sign_callback(body, secret, timestamp=timestamp, attempt="1")
    for headers in (
        signed(sign_callback(body, "not-the-secret", timestamp=timestamp, attempt="1")),
        signed("sha256=" + "0" * 64),
        signed(""),
        signed(sign_callback(body + b" ", secret, timestamp=timestamp, attempt="1")),
        signed(sign(body, secret)),  # the body alone: a confirmation could then be replayed
        signed(right, attempt="2"),  # signed, but for another attempt
        signed(right, at=str(int(timestamp) + 1)),  # signed, but at another time
        {propagation.SIGNATURE_HEADER: right},  # no time, no attempt
        signed("sha256=é" + "0" * 63),  # not ASCII: once a TypeError in compare_digest, a 500
    ):
        response = client.post(url, data=body, content_type="application/json", headers=headers)
        assert response.status_code == 403, headers
        assert response.json() == {"error": "invalid signature"}

    notice.refresh_from_db()
    assert notice.status == Status.DELIVERED
    assert notice.acknowledged_at is None
    assert list(privacy_request.events.values_list("pk", flat=True)) == events_before
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.PROPAGATING

    # The same callback signed with the recipient's secret, its time and attempt is accepted.
    response = client.post(url, data=body, content_type="application/json", headers=signed(right))
    assert response.status_code == 200
    notice.refresh_from_db()
    assert notice.status == Status.ACKNOWLEDGED
    privacy_request.refresh_from_db()
    assert privacy_request.status == PrivacyRequest.Status.COMPLETED
