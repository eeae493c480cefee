import sys

from .base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    """Prints each message on standard output: for a developer's terminal only."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send_messages(self, messages):
        for message in messages:
            self.stream.write(f"SMS to {message.to} at {message.sent_at.isoformat()}\n")
            self.stream.write(f"{message.body}\n{'-' * 40}\n")
        self.stream.flush()
        return len(messages)
