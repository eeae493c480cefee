from privacyportal import sms

from .base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    """Keeps messages in ``privacyportal.sms.outbox`` for tests."""

    def send_messages(self, messages):
        sms.outbox.extend(messages)
        return len(messages)
