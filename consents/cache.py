"""A two-tier cache for the consent check: process memory in front of Redis.

The check must cost microseconds (it runs on every use of optional data), and a
Redis round trip alone costs more than that, so warm answers come from process memory.
What keeps them correct:

* Redis holds, per user, a version number that every committed change bumps
  (``INCR``, never expiring) and the computed consents tagged with the version
  they were computed at. A value tagged with an old version is recomputed, so a
  reader racing a writer can never leave a stale value that looks current.
* Each process keeps answers in memory only while it is subscribed to the
  invalidation channel. Writers publish after commit; the listener thread drops
  the entry. A reader keeps what it fetched only if no invalidation arrived while
  it was fetching. If the subscription drops, memory is cleared and every check
  goes to Redis until it is back.

Without Redis (the embedded default) Django's local-memory cache is the only tier.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache

from privacyportal.invalidation import InvalidatedMemory

logger = logging.getLogger(__name__)

CHANNEL = "privacyportal:consent:invalidate"
GENERATION_KEY = "consent:gen"
CATALOGUE_KEY = "consent:catalogue"
VALUE_TTL = 24 * 3600
LOCAL_MAX_USERS = 200_000


def user_version_key(user_id: int) -> str:
    return f"consent:uv:{user_id}"


def user_value_key(user_id: int) -> str:
    return f"consent:u:{user_id}"


# Django's RedisCache checks every key character by character and sets many values as
# MSET plus one EXPIRE per key in a MULTI: for the 2,000 keys of a bulk check of 1,000
# users that is most of its cost. The same keys and the same encoding (Django's
# serializer: integers as they are, everything else pickled), so ``cache.get``,
# ``cache.incr`` and ``cache.delete`` see what these write and the other way round.
_SET_WITH_TTL = """
for i, key in ipairs(KEYS) do
    redis.call('SET', key, ARGV[i + 1], 'EX', ARGV[1])
end
"""


def _get_many(keys: list[str]) -> dict[str, object]:
    """``cache.get_many`` in one MGET."""
    if not settings.REDIS_URL or not keys:
        return cache.get_many(keys)
    make_key = cache.make_key
    raw = cache._cache.get_client().mget([make_key(key) for key in keys])
    return {key: _loads(value) for key, value in zip(keys, raw, strict=True) if value is not None}


def _loads(value: bytes):
    # Django's serializer tries int() first and unpickles on ValueError: an exception per
    # value. Pickles (protocol 2 and later) start with PROTO, 0x80; integers never do.
    return pickle.loads(value) if value[:1] == b"\x80" else int(value)  # noqa: S301  (our own values)


def _set_many(values: dict[str, object], timeout: int) -> None:
    """``cache.set_many`` in one round trip and one command (a script: SET … EX per key)."""
    if not settings.REDIS_URL or not values:
        cache.set_many(values, timeout)
        return
    make_key = cache.make_key
    backend = cache._cache
    dumps = backend._serializer.dumps
    backend.get_client(write=True).eval(
        _SET_WITH_TTL,
        len(values),
        *(make_key(key) for key in values),
        timeout,
        *(dumps(value) for value in values.values()),
    )


def _bump(key: str) -> None:
    cache.add(key, 0, timeout=None)
    cache.incr(key)


class ConsentCache(InvalidatedMemory):
    channel = CHANNEL
    thread_name = "consent-cache-invalidation"

    def __init__(self) -> None:
        super().__init__()
        self._users: dict[int, object] = {}
        self._catalogue: object | None = None
        self._derived: dict[object, object] = {}

    # --- reads -----------------------------------------------------------

    def catalogue(self, compute: Callable[[], object]):
        self._ensure_listener()
        if self._live and self._catalogue is not None:
            return self._catalogue
        epoch = self._epoch
        found = cache.get_many([GENERATION_KEY, CATALOGUE_KEY])
        generation = found.get(GENERATION_KEY, 0)
        tagged = found.get(CATALOGUE_KEY)
        if tagged is not None and tagged[0] == generation:
            value = tagged[1]
        else:
            value = compute()
            cache.set(CATALOGUE_KEY, (generation, value), VALUE_TTL)
        with self._lock:
            if self._live and epoch == self._epoch:
                self._catalogue = value
        return value

    def catalogue_derived(self, key, compute: Callable[[], object]):
        """A value made from the purposes' catalogue (a rendered fragment, say).

        Kept in memory under the same rule as the catalogue, and dropped with it; while
        not subscribed every call computes afresh.
        """
        self._ensure_listener()
        if self._live:
            value = self._derived.get(key)
            if value is not None:
                return value
        epoch = self._epoch
        value = compute()
        with self._lock:
            if self._live and epoch == self._epoch:
                self._derived[key] = value
        return value

    def users(self, user_ids: Iterable[int], compute: Callable[[list[int]], dict[int, object]]):
        """Consents per user id; ``compute`` gets the ids nothing cached could answer for."""
        self._ensure_listener()
        ids = list(dict.fromkeys(user_ids))
        result = {}
        if self._live:
            local = self._users
            for user_id in ids:
                value = local.get(user_id)
                if value is not None:
                    result[user_id] = value
            if len(result) == len(ids):
                return result
        epoch = self._epoch
        missing = [user_id for user_id in ids if user_id not in result]
        keys = [user_version_key(u) for u in missing] + [user_value_key(u) for u in missing]
        found = _get_many(keys)
        versions = {u: found.get(user_version_key(u), 0) for u in missing}
        stale = []
        for user_id in missing:
            tagged = found.get(user_value_key(user_id))
            if tagged is not None and tagged[0] == versions[user_id]:
                result[user_id] = tagged[1]
            else:
                stale.append(user_id)
        if stale:
            computed = compute(stale)
            _set_many({user_value_key(u): (versions[u], computed[u]) for u in stale}, VALUE_TTL)
            result.update(computed)
        # Under the lock, so an invalidation cannot slip between the check and the store.
        with self._lock:
            if self._live and epoch == self._epoch:
                if len(self._users) + len(missing) > LOCAL_MAX_USERS:
                    self._users = {}
                for user_id in missing:
                    self._users[user_id] = result[user_id]
        return result

    # --- invalidation (call after commit) ----------------------------------

    def invalidate_user(self, user_id: int) -> None:
        _bump(user_version_key(user_id))
        self._forget(user_id)
        self._publish(f"u:{user_id}")

    def invalidate_all(self) -> None:
        _bump(GENERATION_KEY)
        self._forget(None)
        self._publish("all")

    def reset_local(self) -> None:
        """Forget everything held in memory (tests call this after flushing Redis)."""
        self._forget(None)

    def _forget(self, user_id: int | None) -> None:
        with self._lock:
            self._epoch += 1
            if user_id is None:
                self._users = {}
                self._catalogue = None
                self._derived = {}
            else:
                self._users.pop(user_id, None)

    def _publish(self, message: str) -> None:
        if not settings.REDIS_URL:
            return
        try:
            cache._cache.get_client(write=True).publish(CHANNEL, message)
        except Exception:
            # The version bump already made every cached copy stale in Redis; a
            # process that misses the message stops trusting its memory on reconnect.
            logger.exception("Could not publish a consent-cache invalidation")

    # --- the listener (privacyportal.invalidation) --------------------------

    def _drop_all(self) -> None:
        self._forget(None)

    def _on_message(self, data: str) -> None:
        if data.startswith("u:"):
            self._forget(int(data[2:]))
        else:
            self._forget(None)


consent_cache = ConsentCache()
