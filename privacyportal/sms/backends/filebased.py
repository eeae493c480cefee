import json
import logging
import os
import uuid
from pathlib import Path

from django.conf import settings

from privacyportal.sms import mask_phone

from .base import BaseSmsBackend

logger = logging.getLogger(__name__)


class SmsBackend(BaseSmsBackend):
    """Writes one JSON file per message (``to``, ``body``, ``sent_at``) in ``SMS_FILE_PATH``.

    File names sort by time, so the newest code is the last file.
    """

    def __init__(self, file_path=None):
        self.file_path = Path(file_path or settings.SMS_FILE_PATH)

    def send_messages(self, messages):
        self.file_path.mkdir(parents=True, exist_ok=True)
        for message in messages:
            stamp = message.sent_at.strftime("%Y%m%dT%H%M%S%f")
            target = self.file_path / f"{stamp}-{uuid.uuid4().hex[:8]}.json"
            payload = {
                "to": message.to,
                "body": message.body,
                "sent_at": message.sent_at.isoformat(),
            }
            # Write then rename, so a reader never sees half a message.
            partial = target.with_suffix(".part")
            partial.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
            os.replace(partial, target)
            logger.info("SMS to %s written to %s", mask_phone(message.to), target)
        return len(messages)
