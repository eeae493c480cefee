"""Process memory in front of Redis and PostgreSQL for what every API call asks: is this
token live, and does this user exist (and is the account open)?

The consent check answers from memory (``consents.cache``); a Redis round trip for the
token and a query for the user would cost more than the check itself. Entries are kept
correct across processes the way ``consents.cache`` keeps consents: a process trusts its
memory only while it is subscribed to an invalidation channel; a change publishes after
commit and every process drops the entry; a reader stores what it fetched only if no
invalidation arrived while it was fetching. If the subscription drops, memory is cleared
and every call goes to Redis and PostgreSQL until it is back. Without Redis (the embedded
default, one process) memory is not used at all.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache

from privacyportal.invalidation import InvalidatedMemory

logger = logging.getLogger(__name__)

CHANNEL = "privacyportal:api:invalidate"
MAX_ENTRIES = 200_000


class Memory(InvalidatedMemory):
    channel = CHANNEL
    thread_name = "api-cache-invalidation"

    def __init__(self) -> None:
        super().__init__()
        # Keys: a user id (int) or a token's "t:<digest>" (str), so they never collide.
        self._data: dict[int | str, object] = {}

    def get(self, key: int | str):
        self._ensure_listener()
        return self._data.get(key) if self._live else None

    def get_many(self, keys: list[int]) -> dict[int, object]:
        self._ensure_listener()
        if not self._live:
            return {}
        data = self._data
        return {key: data[key] for key in keys if key in data}

    def epoch(self) -> int:
        """Take before fetching; pass to ``put`` with what was fetched."""
        return self._epoch

    def put(self, key: int | str, value, epoch: int) -> None:
        with self._lock:
            if self._live and epoch == self._epoch:
                if len(self._data) >= MAX_ENTRIES:
                    self._data = {}
                self._data[key] = value

    def forget(self, key: int | str) -> None:
        """Drop ``key`` here and in every process; call after the change commits."""
        self._drop(key)
        if not settings.REDIS_URL:
            return
        try:
            cache._cache.get_client(write=True).publish(CHANNEL, str(key))
        except Exception:
            # Callers also change the entry in Redis or the database, where a process
            # whose memory was cleared on reconnect reads it again.
            logger.exception("Could not publish an API cache invalidation")

    def reset(self) -> None:
        """Forget everything held here (tests call this after flushing Redis)."""
        self._drop(None)

    def _drop(self, key: int | str | None) -> None:
        with self._lock:
            self._epoch += 1
            if key is None:
                self._data = {}
            else:
                self._data.pop(key, None)

    # --- the listener (privacyportal.invalidation) --------------------------

    def _drop_all(self) -> None:
        self._drop(None)

    def _on_message(self, data: str) -> None:
        self._drop(int(data) if data.isdigit() else data)


memory = Memory()


def token_key(digest: str) -> str:
    return f"t:{digest}"
