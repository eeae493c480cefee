"""A local HTTP server standing for a recipient, for the tests of what the portal sends out
and what recipients send back (the notices come from ``tests.requests.factories``)."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.paths.append(self.path)
        self.server.received.append((self.path, dict(self.headers.items()), body))
        status, headers = self.server.answer(self.path)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer  # noqa: N815  (http.server's naming)

    def log_message(self, format, *args):  # noqa: A002  (quiet)
        return


@contextmanager
def local_server(answer=lambda path: (200, {})):
    """An HTTP server on 127.0.0.1 that records what it is asked: ``paths``, and
    ``received`` as (path, headers, body)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.paths = []
    server.received = []
    server.answer = answer
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
