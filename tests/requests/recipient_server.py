"""A fake recipient of deletion notices, for tests that deliver over real HTTP.

``RecipientServer`` listens on 127.0.0.1 (a free port) in a background thread and
plays a third party that received users' data:

- it records every request it gets (path, headers, body, parsed JSON, when it came
  and what it answered) and checks the ``X-PrivacyPortal-Signature`` header with the
  secret it was given for that path (a request signed with anything else gets 401);
- it answers from a script: per idempotency key, per path or globally, e.g.
  ``[500, 500, 200]`` (then the last entry for ever), where ``"down"`` closes the
  connection without a word; ``stop()`` stops listening altogether;
- after answering 2xx it confirms the deletion *asynchronously*, from its own
  thread, with an OpenDSR-style status callback to the message's
  ``status_callback_urls[0]``, signed as the recipients' guide says (the time, the
  attempt named by ``X-PrivacyPortal-Attempt`` and the body), and records each
  callback it sends; it confirms an idempotency key at most once, however often the
  notice arrives;
- ``hold(after=n)`` parks request number ``n + 1`` until ``release()``, so a test
  can act (kill a worker) while a delivery is in flight.

Usage::

    with RecipientServer(secrets={"/r1": secret}) as server:
        server.script_path("/r1", [500, 500, 200])
        ...
        server.wait_for(lambda: server.acks_for(key), timeout=10)
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx

SIGNATURE_HEADER = "X-PrivacyPortal-Signature"
ATTEMPT_HEADER = "X-PrivacyPortal-Attempt"
TIMESTAMP_HEADER = "X-PrivacyPortal-Timestamp"
DOWN = "down"


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def sign_callback(body: bytes, secret: str, *, timestamp: str, attempt: str) -> str:
    """A confirmation's signature: its Unix time and the attempt it answers, with the body."""
    return sign(f"{timestamp}.{attempt}.".encode() + body, secret)


@dataclass
class Received:
    """One request as the recipient saw it."""

    at: float  # time.monotonic() when the request was read
    path: str
    headers: dict[str, str]
    body: bytes
    json: dict | None
    signature_valid: bool
    answered: int | str | None = None  # the status code, or "down"

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")


@dataclass
class Ack:
    """One status callback the recipient sent back to the portal."""

    key: str
    url: str
    body: bytes
    sent_at: float  # time.monotonic() just before the POST
    attempt: str = ""
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    answered_at: float | None = None
    status_code: int | None = None
    error: str = ""
    response: dict | None = field(default=None, repr=False)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the portal's client expects
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: _Server

    def do_POST(self):  # noqa: N802  (http.server's naming)
        self.server.recipient._handle(self)

    def log_message(self, format, *args):  # noqa: A002  (quiet)
        return


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    recipient: RecipientServer


class RecipientServer:
    def __init__(
        self,
        *,
        secret: str | None = None,
        secrets: dict[str, str] | None = None,
        ack: bool = True,
        delay: float = 0.0,
        controller_id: str = "fake-recipient",
        ack_timeout: float = 10.0,
    ):
        self.default_secret = secret
        self.secrets: dict[str, str] = dict(secrets or {})
        self.ack_enabled = ack
        self.delay = delay
        self.controller_id = controller_id
        self.ack_timeout = ack_timeout

        self.requests: list[Received] = []
        self.acks: list[Ack] = []
        self._lock = threading.Lock()
        self._scripts: dict[tuple[str, str], list] = {}
        self._default_script: list = [200]
        self._acked_keys: set[str] = set()
        self._ack_queue: queue.Queue = queue.Queue()
        self._count = 0
        self._hold_after: int | None = None
        self._hold_then: int | str = DOWN
        self.held = threading.Event()  # set when the held request has arrived
        self.held_request: Received | None = None
        self._release = threading.Event()
        self._httpd: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        self._ack_thread: threading.Thread | None = None

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> RecipientServer:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.recipient = self
        self._serve_thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._serve_thread.start()
        if self._ack_thread is None:
            self._ack_thread = threading.Thread(target=self._ack_loop, daemon=True)
            self._ack_thread.start()
        return self

    def stop(self) -> None:
        """Stop listening: the port refuses connections until ``start()`` (on a new port)."""
        self._release.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def close(self) -> None:
        self.stop()
        self._ack_queue.put(None)
        if self._ack_thread is not None:
            self._ack_thread.join(timeout=self.ack_timeout + 1)
            self._ack_thread = None

    def __enter__(self) -> RecipientServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "the server is not running"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, path: str) -> str:
        return self.url + path

    # --- scripting ------------------------------------------------------------------------

    def script(self, responses: Iterable[int | str]) -> None:
        """Answers for every request that no key or path script covers."""
        self._default_script = list(responses)

    def script_key(self, key, responses: Iterable[int | str]) -> None:
        self._scripts[("key", str(key))] = list(responses)

    def script_path(self, path: str, responses: Iterable[int | str]) -> None:
        self._scripts[("path", path)] = list(responses)

    def hold(self, *, after: int, then: int | str = DOWN) -> None:
        """Park request number ``after + 1`` until ``release()``, then answer ``then``."""
        self._hold_after = after
        self._hold_then = then
        self.held.clear()
        self._release.clear()

    def release(self) -> None:
        self._release.set()

    def _next_answer(self, key: str | None, path: str) -> int | str:
        for script_key in (("key", key or ""), ("path", path)):
            steps = self._scripts.get(script_key)
            if steps:
                return steps.pop(0) if len(steps) > 1 else steps[0]
        steps = self._default_script
        return steps.pop(0) if len(steps) > 1 else steps[0]

    # --- reading the log ------------------------------------------------------------------

    def received(self, *, path: str | None = None, key=None) -> list[Received]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (path is None or r.path == path) and (key is None or r.key == str(key))
            ]

    def acks_for(self, key) -> list[Ack]:
        with self._lock:
            return [a for a in self.acks if a.key == str(key)]

    def acks_settled(self) -> bool:
        """Every confirmation queued so far was sent and the portal's answer recorded."""
        return self._ack_queue.unfinished_tasks == 0

    @staticmethod
    def wait_for(predicate: Callable[[], object], *, timeout: float = 10.0, every=0.05):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"not true within {timeout} s: {predicate}")
            time.sleep(every)

    # --- serving --------------------------------------------------------------------------

    def _secret_for(self, path: str) -> str | None:
        return self.secrets.get(path, self.default_secret)

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = handler.path
        headers = {name.lower(): value for name, value in handler.headers.items()}
        secret = self._secret_for(path)
        valid = bool(secret) and hmac.compare_digest(
            sign(body, secret), headers.get(SIGNATURE_HEADER.lower(), "")
        )
        try:
            message = json.loads(body) if body else None
        except ValueError:
            message = None
        record = Received(
            at=time.monotonic(),
            path=path,
            headers=headers,
            body=body,
            json=message,
            signature_valid=valid,
        )
        with self._lock:
            self.requests.append(record)
            self._count += 1
            number = self._count
            answer = 401 if not valid else self._next_answer(record.key, path)
        if self._hold_after is not None and number == self._hold_after + 1:
            self.held_request = record
            self.held.set()
            self._release.wait()
            answer = self._hold_then if valid else answer
        elif self.delay:
            time.sleep(self.delay)
        record.answered = answer
        if answer == DOWN:
            # Say nothing: the sender sees the connection drop.
            handler.close_connection = True
            return
        payload = b'{"ok":true}' if 200 <= answer < 300 else b'{"error":"scripted"}'
        handler.send_response(answer)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)
        handler.wfile.flush()
        if 200 <= answer < 300 and self.ack_enabled and message and secret:
            self._queue_ack(record.key, message, secret, headers.get(ATTEMPT_HEADER.lower(), ""))

    # --- acknowledging -------------------------------------------------------------------

    def _queue_ack(self, key: str | None, message: dict, secret: str, attempt: str) -> None:
        key = key or message.get("subject_request_id")
        urls = message.get("status_callback_urls") or []
        with self._lock:
            if not key or not urls or key in self._acked_keys:
                return
            self._acked_keys.add(key)
        self._ack_queue.put((key, urls[0], secret, attempt))

    def _ack_loop(self) -> None:
        with httpx.Client(timeout=self.ack_timeout) as client:
            while True:
                item = self._ack_queue.get()
                if item is None:
                    self._ack_queue.task_done()
                    return
                key, url, secret, attempt = item
                expected = datetime.now(UTC) + timedelta(days=1)
                body = json.dumps(
                    {
                        "subject_request_id": key,
                        "request_status": "completed",
                        "controller_id": self.controller_id,
                        "expected_completion_time": expected.isoformat(),
                    }
                ).encode()
                timestamp = str(int(time.time()))
                headers = {
                    "Content-Type": "application/json",
                    TIMESTAMP_HEADER: timestamp,
                    ATTEMPT_HEADER: attempt,
                    SIGNATURE_HEADER: sign_callback(
                        body, secret, timestamp=timestamp, attempt=attempt
                    ),
                }
                ack = Ack(
                    key=key,
                    url=url,
                    body=body,
                    sent_at=time.monotonic(),
                    attempt=attempt,
                    headers=headers,
                )
                with self._lock:
                    self.acks.append(ack)
                try:
                    response = client.post(url, content=body, headers=headers)
                    ack.status_code = response.status_code
                    try:
                        ack.response = response.json()
                    except ValueError:
                        ack.response = None
                except httpx.HTTPError as exc:
                    ack.error = type(exc).__name__
                ack.answered_at = time.monotonic()
                self._ack_queue.task_done()
