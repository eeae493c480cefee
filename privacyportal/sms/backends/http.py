import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from privacyportal import outgoing
from privacyportal.sms import mask_phone

from .base import BaseSmsBackend

logger = logging.getLogger(__name__)


class SmsBackend(BaseSmsBackend):
    """Posts each message as JSON to an SMS provider's HTTP API.

    The request is ``POST SMS_HTTP_ENDPOINT`` with ``Authorization: Bearer
    SMS_HTTP_API_KEY`` and the body ``{"to", "body", "sender"}``; any non-2xx
    answer raises, so the Celery task retries.
    """

    def __init__(self, endpoint=None, api_key=None, timeout=None):
        self.endpoint = endpoint or settings.SMS_HTTP_ENDPOINT
        self.api_key = api_key or settings.SMS_HTTP_API_KEY
        if not self.endpoint or not self.api_key:
            raise ImproperlyConfigured(
                "The HTTP SMS backend needs SMS_HTTP_ENDPOINT and SMS_HTTP_API_KEY."
            )
        try:
            outgoing.validate_url(self.endpoint)
        except ValidationError as error:
            raise ImproperlyConfigured(
                f"SMS_HTTP_ENDPOINT is refused: {' '.join(error.messages)}"
            ) from error
        self.timeout = settings.SMS_HTTP_TIMEOUT if timeout is None else timeout

    def send_messages(self, messages):
        headers = {"Authorization": f"Bearer {self.api_key}"}
        with outgoing.outgoing_client(timeout=self.timeout) as client:
            for message in messages:
                response = client.post(
                    self.endpoint,
                    json={
                        "to": message.to,
                        "body": message.body,
                        "sender": settings.SMS_SENDER_NAME,
                    },
                    headers=headers,
                )
                response.raise_for_status()
                logger.info(
                    "SMS to %s accepted by the provider (%s)",
                    mask_phone(message.to),
                    response.status_code,
                )
        return len(messages)
