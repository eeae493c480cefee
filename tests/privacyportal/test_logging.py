"""What the configured log handler writes: one JSON object per line (or text), the
request's id on every record of the request (and of the tasks it queued), and no
phone number in clear, whether in the message, its arguments, a traceback or the
request's query string."""

import copy
import io
import json
import logging
import logging.config
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from privacyportal import celery_app, sms
from tests.privacyportal.test_celery_worker import celery_leaves_logging_alone  # noqa: F401

PHONE = "+8613800138000"
MASKED = "+86*******8000"
CLEAR = ("13800138000", "138 0013 8000", "138-0013-8000")
CODE = "715204"
logger = logging.getLogger("tests.privacyportal.logging_view")


def log_numbers(request):
    logger.warning("Code sent to %s; the user also gave 0086 138 0013 8000", PHONE)
    return HttpResponse("ok")


def fail_with_number(request):
    raise ValueError(f"no account for {request.GET['q']}")


def queue_a_text(request):
    sms.queue_sms(to=PHONE, body=f"Your verification code is {CODE}.")
    return HttpResponse("queued")


urlpatterns = [
    path("log/", log_numbers),
    path("fail/", fail_with_number),
    path("text/", queue_a_text),
]


def console_handler() -> logging.Handler:
    (handler,) = [h for h in logging.getLogger().handlers if h.name == "console"]
    return handler


def capture_console(settings, log_format: str) -> io.StringIO:
    """Apply settings.LOGGING with the console handler in ``log_format``, writing into a string."""
    config = copy.deepcopy(settings.LOGGING)
    config["handlers"]["console"]["formatter"] = log_format
    logging.config.dictConfig(config)
    stream = io.StringIO()
    console_handler().setStream(stream)
    return stream


@pytest.fixture
def restore_logging(settings):
    yield
    logging.config.dictConfig(settings.LOGGING)


@pytest.fixture
def log_output(settings, request, restore_logging):
    """The console handler's output, in the format named by indirect parametrisation."""
    return capture_console(settings, request.param)


def json_lines(stream) -> list[dict]:
    # Fails on any line that is not one whole JSON object.
    return [json.loads(line) for line in stream.getvalue().splitlines()]


pytestmark = pytest.mark.urls(__name__)


@pytest.mark.parametrize("log_output", ["json"], indirect=True)
@pytest.mark.django_db
def test_json_lines_carry_the_request_id_and_mask_phone_numbers(client, log_output):
    response = client.get("/log/")

    request_id = response["X-Request-ID"]
    assert len(request_id) == 36  # a uuid4, made by the middleware
    lines = json_lines(log_output)
    print(lines)
    (line,) = [line for line in lines if line["logger"] == logger.name]
    assert line["message"] == f"Code sent to {MASKED}; the user also gave {MASKED}"
    assert line["request_id"] == request_id
    assert line["level"] == "WARNING"
    for clear in CLEAR:
        assert clear not in log_output.getvalue()


@pytest.mark.parametrize("log_output", ["json"], indirect=True)
@pytest.mark.django_db
def test_an_error_log_masks_the_traceback_and_leaves_out_the_query_string(log_output):
    client = Client(raise_request_exception=False)

    response = client.get("/fail/", {"q": "138 0013 8000"})

    assert response.status_code == 500
    lines = json_lines(log_output)
    print(lines)
    (error,) = [line for line in lines if line["logger"] == "django.request"]
    assert error["message"] == "Internal Server Error: /fail/"
    assert error["request_id"] == response["X-Request-ID"]
    assert error["request"] == "GET /fail/"
    assert f"ValueError: no account for {MASKED}" in error["exc_info"]
    for clear in (*CLEAR, "138+0013+8000"):
        assert clear not in log_output.getvalue()


@pytest.mark.parametrize("log_output", ["text"], indirect=True)
@pytest.mark.django_db
def test_text_lines_carry_the_request_id_and_mask_phone_numbers(client, log_output):
    response = client.get("/log/", headers={"X-Request-ID": "lb-7f3a9c21e4"})

    assert response["X-Request-ID"] == "lb-7f3a9c21e4"
    (line,) = [line for line in log_output.getvalue().splitlines() if logger.name in line]
    assert line.endswith(
        f"WARNING {logger.name} [lb-7f3a9c21e4] Code sent to {MASKED}; the user also gave {MASKED}"
    )


@pytest.mark.parametrize(
    "incoming",
    ["short", "x" * 129, "abc12345\nFORGED log line", "abc12345 spaces", "<script>12345"],
)
@pytest.mark.django_db
def test_an_unfit_incoming_request_id_is_replaced(client, incoming):
    response = client.get("/log/", headers={"X-Request-ID": incoming})

    assert response.status_code == 200
    assert response["X-Request-ID"] != incoming
    assert len(response["X-Request-ID"]) == 36


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_task_queued_by_a_request_logs_under_its_request_id(
    client,
    settings,
    tmp_path,
    restore_logging,
    celery_leaves_logging_alone,  # noqa: F811
):
    settings.SMS_BACKEND = "privacyportal.sms.backends.filebased.SmsBackend"
    settings.SMS_FILE_PATH = tmp_path / "sms"
    celery_app.control.purge()
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        # Celery's Django fixup runs django.setup() in the worker, which applies LOGGING again.
        log_output = capture_console(settings, "json")
        response = client.get("/text/")
        deadline = time.monotonic() + 20
        while not list(settings.SMS_FILE_PATH.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)

    lines = json_lines(log_output)
    print(lines)
    (written,) = [
        line for line in lines if line["logger"] == "privacyportal.sms.backends.filebased"
    ]
    assert written["message"].startswith(f"SMS to {MASKED} written to ")
    assert written["request_id"] == response["X-Request-ID"]
    output = log_output.getvalue()
    assert CODE not in output
    for clear in CLEAR:
        assert clear not in output
