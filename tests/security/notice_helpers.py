"""A deletion notice to one recipient, made directly (no approval flow): for the tests of
what the portal sends out and what recipients send back."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager

from django.utils import timezone

from requests import propagation
from requests.deadlines import due_date
from requests.models import DeletionNotice, PrivacyRequest, Recipient
from tests.factories import UserFactory


def make_notice(*, endpoint: str, name: str = "Acme Logistics", staff=None) -> DeletionNotice:
    """A pending notice, due now, to a recipient with this endpoint and a signing secret."""
    now = timezone.now()
    recipient = Recipient.objects.create(name=name, contact="dpo@acme.example", endpoint=endpoint)
    propagation.recipient_secret_set(recipient=recipient, actor=staff or UserFactory(is_staff=True))
    privacy_request = PrivacyRequest.objects.create(
        user=UserFactory(),
        kind=PrivacyRequest.Kind.DELETION,
        ground=PrivacyRequest.Ground.NO_CONSENT,
        status=PrivacyRequest.Status.PROPAGATING,
        verified_at=now,
        due_on=due_date(now),
    )
    return DeletionNotice.objects.create(
        request=privacy_request,
        recipient=recipient,
        status=DeletionNotice.Status.PENDING,
        categories=["phone_number"],
        subject_identifiers=["C-1"],
        next_attempt_at=now,
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.paths.append(self.path)
        self.server.received.append((self.path, dict(self.headers.items()), body))
        status, headers = self.server.answer(self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer  # noqa: N815  (http.server's naming)

    def log_message(self, format, *args):  # noqa: A002  (quiet)
        return


@contextmanager
def local_server(answer=lambda path: (200, {})):
    """An HTTP server on 127.0.0.1 that records what it is asked: ``paths``, and
    ``received`` as (path, headers, body)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.paths = []
    server.received = []
    server.answer = answer
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
