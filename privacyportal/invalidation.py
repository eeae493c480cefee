"""A process-memory cache kept right across processes by a Redis pub/sub channel.

Shared by ``consents.cache`` and ``api.memory``: a process trusts its memory only while
it is subscribed; on (re)subscribing, and whenever the subscription drops, it forgets
everything (anything published meanwhile may have been missed). A forked worker inherits
the parent's memory but not its thread, so it starts afresh. Subclasses say what to
forget (``_drop_all``) and what a message means (``_on_message``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)


class InvalidatedMemory:
    channel: str
    thread_name: str

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._epoch = 0
        self._live = False
        self._pid: int | None = None
        self._thread: threading.Thread | None = None

    def _drop_all(self) -> None:
        raise NotImplementedError

    def _on_message(self, data: str) -> None:
        raise NotImplementedError

    def _ensure_listener(self) -> None:
        if not settings.REDIS_URL:
            return
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
                return
            self._pid = os.getpid()
            self._live = False
            self._thread = threading.Thread(target=self._listen, name=self.thread_name, daemon=True)
            self._thread.start()
        self._drop_all()

    def _listen(self) -> None:
        import redis

        while True:
            pubsub = None
            try:
                client = redis.Redis.from_url(settings.REDIS_URL, socket_keepalive=True)
                pubsub = client.pubsub()
                pubsub.subscribe(self.channel)
                idle = 0.0
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is None:
                        idle += 1.0
                        if idle >= 5.0:
                            pubsub.ping()
                            idle = 0.0
                        continue
                    idle = 0.0
                    self._handle(message)
            except Exception:
                logger.warning("%s lost Redis; retrying", self.thread_name, exc_info=True)
            finally:
                self._live = False
                self._drop_all()
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        pubsub.close()
            time.sleep(1.0)

    def _handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            self._drop_all()
            self._live = True
        elif kind == "message":
            data = message["data"]
            self._on_message(data.decode() if isinstance(data, bytes) else data)
