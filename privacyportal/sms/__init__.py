"""Sending text messages, in the style of ``django.core.mail``.

Code asks :func:`queue_sms`, which hands the message to a Celery task once the
surrounding transaction commits; the task calls :func:`send_sms`, which gives
it to the backend named by ``settings.SMS_BACKEND``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from privacyportal.tasks import send_sms_task

# Tests read what the in-memory backend sent from here, like mail.outbox.
outbox: list[SmsMessage] = []


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    sent_at: datetime = field(default_factory=timezone.now)


def mask_phone(phone: str) -> str:
    """Keep the country code and the last four digits: enough to tell numbers apart in logs."""
    try:
        prefix = f"+{phonenumbers.parse(phone).country_code}"
    except phonenumbers.NumberParseException:
        return "*" * len(phone)
    hidden = len(phone) - len(prefix) - 4
    if hidden < 3:
        return "*" * len(phone)
    return f"{prefix}{'*' * hidden}{phone[-4:]}"


def get_connection(backend: str | None = None):
    return import_string(backend or settings.SMS_BACKEND)()


def send_sms(*, to: str, body: str) -> SmsMessage:
    message = SmsMessage(to=to, body=body)
    get_connection().send_messages([message])
    return message


def queue_sms(*, to: str, body: str) -> None:
    """Send after commit through the worker, so a rolled-back sign-up sends nothing."""
    # argsrepr is what Celery shows in logs, events and monitoring: never the code.
    transaction.on_commit(
        lambda: send_sms_task.apply_async(
            args=(to, body), argsrepr=repr((mask_phone(to), "<redacted>"))
        )
    )
