from collections.abc import Sequence


class BaseSmsBackend:
    """A backend delivers messages or raises; it never swallows a failure."""

    def send_messages(self, messages: Sequence) -> int:
        raise NotImplementedError
