"""The SMS backends, the after-commit queue and the masking that keeps codes out of logs."""

import io
import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from privacyportal import sms
from privacyportal.sms.backends.console import SmsBackend as ConsoleBackend
from privacyportal.sms.backends.filebased import SmsBackend as FileBackend
from privacyportal.sms.backends.http import SmsBackend as HttpBackend
from privacyportal.sms.backends.locmem import SmsBackend as LocmemBackend
from privacyportal.tasks import send_sms_task

PHONE = "+8613800138000"
CODE = "482913"
BODY = f"Your verification code is {CODE}. It expires in 15 minutes."
API_KEY = "test-api-key-7f3a"


def message(to=PHONE, body=BODY):
    return sms.SmsMessage(to=to, body=body)


def assert_not_logged(caplog, *secrets):
    """No log record, neither its message nor its arguments, holds any of ``secrets``."""
    for record in caplog.records:
        text = f"{record.getMessage()} {record.msg!r} {record.args!r}"
        for secret in secrets:
            assert secret not in text, (
                f"{secret!r} logged by {record.name}: {record.getMessage()!r}"
            )


# --- console and locmem ----------------------------------------------------------


def test_console_backend_writes_recipient_and_body_to_the_stream():
    stream = io.StringIO()
    sent = ConsoleBackend(stream=stream).send_messages(
        [message(), message(to="+8613900139000", body="hello")]
    )

    assert sent == 2
    output = stream.getvalue()
    assert f"SMS to {PHONE}" in output
    assert BODY in output
    assert "SMS to +8613900139000" in output
    assert "hello" in output
    assert output.index(BODY) < output.index("+8613900139000")


def test_locmem_backend_appends_to_the_outbox(sms_outbox):
    first, second = message(), message(to="+8613900139000", body="second")

    assert LocmemBackend().send_messages([first]) == 1
    assert LocmemBackend().send_messages([second]) == 1

    assert sms_outbox == [first, second]
    assert sms.outbox is sms_outbox


def test_send_sms_uses_the_configured_backend(settings, sms_outbox):
    settings.SMS_BACKEND = "privacyportal.sms.backends.locmem.SmsBackend"

    sent = sms.send_sms(to=PHONE, body=BODY)

    assert sms_outbox == [sent]
    assert (sent.to, sent.body) == (PHONE, BODY)


# --- file backend ------------------------------------------------------------------


def test_file_backend_writes_one_json_file_per_message(settings, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    settings.SMS_FILE_PATH = tmp_path / "sms"  # created by the backend
    messages = [message(), message(to="+8613900139000", body="second 123456")]
    before = timezone.now()

    assert FileBackend().send_messages(messages) == 2

    files = sorted(settings.SMS_FILE_PATH.iterdir())
    assert [f.suffix for f in files] == [".json", ".json"], files
    assert list(settings.SMS_FILE_PATH.glob("*.part")) == []
    payloads = [json.loads(f.read_text(encoding="utf-8")) for f in files]
    assert sorted((p["to"], p["body"]) for p in payloads) == sorted(
        (m.to, m.body) for m in messages
    )
    for payload in payloads:
        assert set(payload) == {"to", "body", "sent_at"}
        sent_at = datetime.fromisoformat(payload["sent_at"])
        assert sent_at.tzinfo is not None
        assert before - timedelta(seconds=1) <= sent_at <= timezone.now()

    # It says where it wrote, with the number masked, and never the text.
    assert any(r.name == "privacyportal.sms.backends.filebased" for r in caplog.records)
    assert_not_logged(caplog, BODY, CODE, "second 123456", PHONE)


def test_file_backend_through_send_sms(settings, tmp_path):
    settings.SMS_BACKEND = "privacyportal.sms.backends.filebased.SmsBackend"
    settings.SMS_FILE_PATH = tmp_path

    sms.send_sms(to=PHONE, body=BODY)

    (written,) = tmp_path.iterdir()
    assert written.suffix == ".json"
    assert json.loads(written.read_text(encoding="utf-8"))["body"] == BODY


# --- HTTP backend against a real local server -----------------------------------------


@dataclass
class FakeProvider:
    """What the local SMS provider received, and the status it answers with."""

    url: str
    status: int = 200
    requests: list = field(default_factory=list)


@pytest.fixture
def sms_provider(monkeypatch):
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)

    provider = FakeProvider(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 - http.server's naming
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            provider.requests.append(
                {"path": self.path, "headers": self.headers, "json": json.loads(raw)}
            )
            answer = json.dumps({"status": provider.status}).encode()
            self.send_response(provider.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format, *args):  # noqa: A002 - keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    provider.url = f"http://127.0.0.1:{server.server_port}/v1/sms/send"
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def http_backend_settings(settings, sms_provider):
    settings.SMS_BACKEND = "privacyportal.sms.backends.http.SmsBackend"
    settings.SMS_HTTP_ENDPOINT = sms_provider.url
    settings.SMS_HTTP_API_KEY = API_KEY
    settings.SMS_HTTP_TIMEOUT = 5
    settings.SMS_SENDER_NAME = "隐私门户"
    return settings


def test_http_backend_posts_json_with_a_bearer_key(http_backend_settings, sms_provider, caplog):
    caplog.set_level(logging.DEBUG)

    sms.send_sms(to=PHONE, body=BODY)

    (request,) = sms_provider.requests
    assert request["path"] == "/v1/sms/send"
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {"to": PHONE, "body": BODY, "sender": "隐私门户"}

    assert any(r.name == "privacyportal.sms.backends.http" for r in caplog.records)
    assert_not_logged(caplog, BODY, CODE, API_KEY, PHONE)


def test_http_backend_sends_each_message(http_backend_settings, sms_provider):
    sms_provider.status = 202

    assert HttpBackend().send_messages([message(), message(to="+8613900139000", body="two")]) == 2

    assert [r["json"]["to"] for r in sms_provider.requests] == [PHONE, "+8613900139000"]


def test_http_backend_raises_on_a_server_error(http_backend_settings, sms_provider, caplog):
    caplog.set_level(logging.DEBUG)
    sms_provider.status = 500

    with pytest.raises(httpx.HTTPStatusError) as raised:
        sms.send_sms(to=PHONE, body=BODY)

    assert raised.value.response.status_code == 500
    assert len(sms_provider.requests) == 1
    # Celery logs the exception when it retries: it must not carry the code either.
    assert CODE not in str(raised.value)
    assert_not_logged(caplog, BODY, CODE, API_KEY, PHONE)


@pytest.mark.parametrize(
    ("endpoint", "key"), [("", API_KEY), ("http://127.0.0.1:9/sms", ""), ("", "")]
)
def test_http_backend_needs_an_endpoint_and_a_key(settings, endpoint, key):
    settings.SMS_HTTP_ENDPOINT = endpoint
    settings.SMS_HTTP_API_KEY = key
    settings.SMS_BACKEND = "privacyportal.sms.backends.http.SmsBackend"

    with pytest.raises(ImproperlyConfigured):
        HttpBackend()
    with pytest.raises(ImproperlyConfigured):
        sms.send_sms(to=PHONE, body=BODY)


# --- queue_sms: after commit, with a masked argsrepr -------------------------------------


@pytest.fixture
def apply_async_spy():
    """Records how the task is queued, and still queues it (eagerly, per the conftest)."""
    with mock.patch.object(send_sms_task, "apply_async", wraps=send_sms_task.apply_async) as spy:
        yield spy


@pytest.mark.django_db(transaction=True)
def test_queue_sms_in_a_rolled_back_transaction_sends_nothing(sms_outbox, apply_async_spy):
    with pytest.raises(RuntimeError), transaction.atomic():
        sms.queue_sms(to=PHONE, body=BODY)
        raise RuntimeError("roll back")

    apply_async_spy.assert_not_called()
    assert sms_outbox == []


@pytest.mark.django_db(transaction=True)
def test_queue_sms_sends_once_after_commit(sms_outbox, apply_async_spy):
    with transaction.atomic():
        sms.queue_sms(to=PHONE, body=BODY)
        apply_async_spy.assert_not_called()
        assert sms_outbox == []

    apply_async_spy.assert_called_once()
    assert [(m.to, m.body) for m in sms_outbox] == [(PHONE, BODY)]


@pytest.mark.django_db(transaction=True)
def test_queue_sms_masks_the_task_arguments(sms_outbox, apply_async_spy):
    with transaction.atomic():
        sms.queue_sms(to=PHONE, body=BODY)

    apply_async_spy.assert_called_once()
    call = apply_async_spy.call_args
    # The worker still gets the real arguments ...
    assert call.kwargs["args"] == (PHONE, BODY)
    # ... but what Celery shows in logs, events and monitoring holds neither.
    argsrepr = call.kwargs["argsrepr"]
    assert CODE not in argsrepr
    assert BODY not in argsrepr
    assert PHONE not in argsrepr
    assert "13800138000" not in argsrepr
    assert sms.mask_phone(PHONE) in argsrepr
    assert [(m.to, m.body) for m in sms_outbox] == [(PHONE, BODY)]


# --- mask_phone ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613800138000", "+86*******8000"),
        ("+8613912345678", "+86*******5678"),
        ("+12025550123", "+1******0123"),
        ("+85291234567", "+852****4567"),
    ],
)
def test_mask_phone_keeps_the_country_prefix_and_the_last_four_digits(phone, masked):
    result = sms.mask_phone(phone)

    assert result == masked
    assert len(result) == len(phone)
    assert result.endswith(phone[-4:])


@pytest.mark.parametrize("phone", ["", "1", "+861234", "+86138001", "1380013", "not a number"])
def test_mask_phone_hides_short_numbers_entirely(phone):
    assert sms.mask_phone(phone) == "*" * len(phone)
