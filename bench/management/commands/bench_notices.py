"""Measure delivering 10,000 deletion notices through the broker and two worker processes.

Run against the real services (``make bench``). A local recipient, in a child process,
answers 200 at once and sends no confirmation: what is measured is delivery. The run:

1. deletes the previous run's benchmark rows and makes 10,000 pending notices (one
   deletion request of the benchmark user, 10,000 recipients with the same endpoint and
   secret; rows made directly, the deletion itself is not what is measured);
2. posts the same 10,000 signed bodies with a bare httpx loop (two threads, one
   keep-alive client each): the ceiling that HTTP and the recipient allow;
3. starts ``celery worker --pool=prefork --concurrency=2`` and, once it answers a ping,
   queues the notices (``queue_notices``) and waits until all are delivered.

It reports notices/s for both, and their ratio (``bench.results``); it
asserts nothing.
"""

import os
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.data import verified_request
from bench.loadtest import child_env, stop
from bench.results import Figure, report
from privacyportal import celery_app
from requests import propagation
from requests.models import DeletionNotice, NoticeAttempt, PrivacyRequest, Recipient

BENCH_PHONE = "+8617100000001"
RECIPIENT_PREFIX = "bench-notice-recipient-"
SECRET = "bench-notice-secret"  # noqa: S105  (a benchmark's fake recipient)
GOAL_RATIO = ">= 0.5"
WORKER_TIMEOUT = 60
WORKERS = {"prefork": "a prefork worker, 2 processes", "solo": "2 solo worker processes"}

# The recipient: answers every POST with 200 at once, keep-alive, in its own process
# so that neither side of the comparison shares its interpreter.
RECIPIENT = """
import http.server, json, threading

counts = {"connections": 0, "posts": 0}
lock = threading.Lock()

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        with lock:
            counts["connections"] += 1

    def do_GET(self):
        with lock:
            body = json.dumps(counts).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        with lock:
            counts["posts"] += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass

class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


class Command(BaseCommand):
    help = "Benchmark delivering 10,000 deletion notices by two workers against a bare HTTP loop."

    def add_arguments(self, parser):
        parser.add_argument("--notices", type=int, default=10_000)
        parser.add_argument("--threads", type=int, default=2)
        parser.add_argument(
            "--pool",
            choices=["prefork", "solo"],
            default="prefork",
            help="one prefork worker with 2 children, or 2 solo worker processes",
        )

    def handle(self, *args, notices, threads, pool, **options):
        if celery_app.conf.task_always_eager or not settings.REDIS_URL:
            raise CommandError("Set REDIS_URL: the benchmark queues through the Redis broker.")
        recipient = subprocess.Popen(  # noqa: S603  (our own interpreter and code)
            [sys.executable, "-c", RECIPIENT], stdout=subprocess.PIPE, text=True
        )
        workers = []
        fd, log_name = tempfile.mkstemp(prefix="bench-notices-", suffix=".log")
        os.close(fd)
        try:
            port = int(recipient.stdout.readline())
            base = f"http://127.0.0.1:{port}"
            endpoint = f"{base}/notices"
            self.stdout.write(f"notice delivery benchmark: {notices:,} notices to {endpoint}")
            privacy_request = self._fresh_notices(notices, endpoint)
            ids = list(privacy_request.notices.values_list("pk", flat=True))
            bodies = self._bodies(privacy_request)
            batch = propagation.batch_size()
            queries = self._queries_per_batch(batch)

            before = _Sample(base, senders=[os.getpid()], recipient=recipient.pid)
            self._bare_loop(endpoint, bodies, threads)
            bare = _Sample(base, senders=[os.getpid()], recipient=recipient.pid).since(before)

            celery_app.control.purge()
            workers = self._start_workers(log_name, pool)
            senders = [w.pid for w in workers]
            before = _Sample(base, senders=senders, recipient=recipient.pid)
            propagation.queue_notices(ids)
            queued = time.perf_counter() - before.clock
            delivered = self._wait_delivered(privacy_request, len(ids), workers, log_name)
            portal = _Sample(base, senders=senders, recipient=recipient.pid).since(before)
        finally:
            for process in (*workers, recipient):
                if process.poll() is None:
                    stop(process, timeout=15)
            Path(log_name).unlink(missing_ok=True)

        failed = notices - delivered
        if failed:
            raise CommandError(f"{failed:,} of {notices:,} notices were not delivered.")
        portal_rate = notices / portal["seconds"]
        bare_rate = notices / bare["seconds"]
        figures = [
            Figure(
                f"notices delivered: portal (broker + {WORKERS[pool]}, queueing {queued:,.2f} s)",
                portal_rate,
                "notices/s",
            ),
            Figure(
                f"notices delivered: bare httpx loop ({threads} threads, keep-alive)",
                bare_rate,
                "posts/s",
            ),
            Figure(
                "notices delivered: portal ÷ bare httpx loop",
                portal_rate / bare_rate,
                "ratio",
                GOAL_RATIO,
            ),
            Figure(
                f"notices delivered: queries per batch of {batch} (in-process probe)",
                queries,
                "queries",
            ),
        ]
        for name, sample, sender in (
            ("portal", portal, "the workers"),
            ("bare", bare, "the loop (this process)"),
        ):
            self.stdout.write(
                f"  {name}: {sample['posts']:,} posts over {sample['connections']:,} TCP "
                f"connection(s); CPU per notice: {sender} "
                f"{sample['sender_ms'] / notices:.2f} ms, the recipient "
                f"{sample['recipient_ms'] / notices:.2f} ms, whole machine "
                f"{sample['cpu_ms'] / notices:.2f} ms ({sample['busy']:.0%} of "
                f"{os.cpu_count()} CPUs busy, other load included)"
            )
            figures.append(
                Figure(
                    f"notices delivered: {name}, CPU per notice of {sender}",
                    sample["sender_ms"] / notices,
                    "ms",
                    ndigits=2,
                )
            )
        report(self.stdout, figures)

    # --- the rows -----------------------------------------------------------------------

    def _fresh_notices(self, count: int, endpoint: str) -> PrivacyRequest:
        User = get_user_model()
        user = User.objects.filter(phone=BENCH_PHONE).first()
        if user is None:
            user = User.objects.create_user(phone=BENCH_PHONE, phone_verified=True)
        previous = PrivacyRequest.objects.filter(user=user, kind=PrivacyRequest.Kind.DELETION)
        NoticeAttempt.objects.filter(notice__request__in=previous).delete()
        DeletionNotice.objects.filter(request__in=previous).delete()
        previous.delete()

        recipients = Recipient.objects.filter(name__startswith=RECIPIENT_PREFIX)
        have = recipients.count()
        if have < count:
            self.stdout.write(f"creating {count - have:,} benchmark recipients …")
            now = timezone.now()
            Recipient.objects.bulk_create(
                [
                    Recipient(
                        name=f"{RECIPIENT_PREFIX}{n:06d}",
                        contact="benchmark",
                        secret=SECRET,
                        secret_set_at=now,
                    )
                    for n in range(have, count)
                ],
                batch_size=5_000,
            )
        recipients.update(endpoint=endpoint, secret=SECRET)

        with transaction.atomic():
            privacy_request = _propagating_deletion(user, scope_kinds=["browsing_records"])
            DeletionNotice.objects.bulk_create(
                [
                    DeletionNotice(
                        request=privacy_request,
                        recipient_id=pk,
                        status=DeletionNotice.Status.PENDING,
                        categories=["browsing_records"],
                        subject_identifiers=[f"bench-customer-{n}"],
                        next_attempt_at=privacy_request.verified_at,
                    )
                    for n, pk in enumerate(
                        recipients.order_by("name").values_list("pk", flat=True)[:count]
                    )
                ],
                batch_size=5_000,
            )
        return privacy_request

    def _bodies(self, privacy_request) -> list[tuple[bytes, dict]]:
        bodies = []
        for notice in privacy_request.notices.select_related("request", "recipient"):
            body = propagation.notice_body(notice)
            bodies.append(
                (
                    body,
                    {
                        "Content-Type": "application/json",
                        "Idempotency-Key": str(notice.idempotency_key),
                        propagation.SIGNATURE_HEADER: propagation.sign(body, SECRET),
                    },
                )
            )
        return bodies

    def _queries_per_batch(self, size: int) -> int:
        """Deliver one batch of extra notices here (a request of their own); count queries."""
        probe_request = _propagating_deletion(get_user_model().objects.get(phone=BENCH_PHONE))
        notices = DeletionNotice.objects.bulk_create(
            DeletionNotice(
                request=probe_request,
                recipient_id=recipient_id,
                status=DeletionNotice.Status.PENDING,
                next_attempt_at=probe_request.verified_at,
            )
            for recipient_id in Recipient.objects.filter(name__startswith=RECIPIENT_PREFIX)
            .order_by("name")
            .values_list("pk", flat=True)[:size]
        )
        with CaptureQueriesContext(connection) as captured:
            propagation.notices_deliver([notice.pk for notice in notices])
        return len(captured)

    # --- the two measurements -------------------------------------------------------------

    def _bare_loop(self, endpoint: str, bodies, threads: int) -> None:
        errors = []

        def post(share):
            with httpx.Client(timeout=settings.NOTICE_TIMEOUT) as client:
                for body, headers in share:
                    response = client.post(endpoint, content=body, headers=headers)
                    if response.status_code != 200:
                        errors.append(response.status_code)

        shares = [bodies[n::threads] for n in range(threads)]
        runners = [threading.Thread(target=post, args=(share,)) for share in shares]
        for runner in runners:
            runner.start()
        for runner in runners:
            runner.join()
        if errors:
            raise CommandError(f"The bare loop got {len(errors)} non-200 answers.")

    def _start_workers(self, log_name: str, pool: str) -> list[subprocess.Popen]:
        env = child_env(
            # As in production: DEBUG off (no query log kept), and so a key of its own.
            DEBUG="false",
            SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            LOG_LEVEL="WARNING",
            # The benchmark's recipient listens on this machine: let the outgoing guard reach it.
            OUTGOING_ALLOWED_HOSTS="127.0.0.1",
        )
        command = [sys.executable, "-m", "celery", "-A", "privacyportal", "worker", "-Q", "celery"]
        command += ["--without-heartbeat", "--without-gossip", "--without-mingle"]
        command += ["--loglevel=WARNING"]
        if pool == "prefork":
            variants = [["--pool=prefork", "--concurrency=2", "-n", "bench-prefork@%h"]]
        else:
            variants = [["--pool=solo", "-n", f"bench-solo-{n}@%h"] for n in (1, 2)]
        workers = []
        with open(log_name, "ab") as log:
            for variant in variants:
                workers.append(
                    subprocess.Popen(  # noqa: S603  (our own interpreter and code)
                        command + variant,
                        cwd=settings.BASE_DIR,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        deadline = time.monotonic() + WORKER_TIMEOUT
        while len(celery_app.control.ping(timeout=0.5)) < len(workers):
            if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
                raise CommandError(f"The workers did not start:\n{_tail(log_name)}")
        return workers

    def _wait_delivered(self, privacy_request, count: int, workers, log_name: str) -> int:
        notices = DeletionNotice.objects.filter(request=privacy_request)
        deadline = time.monotonic() + 600
        while True:
            delivered = notices.filter(status=DeletionNotice.Status.DELIVERED).count()
            if delivered >= count:
                return delivered
            if notices.filter(status=DeletionNotice.Status.PENDING).count() == 0:
                return delivered  # some failed: reported, not waited for
            if any(w.poll() is not None for w in workers) or time.monotonic() > deadline:
                raise CommandError(
                    f"{delivered:,} of {count:,} delivered when the wait ended:\n{_tail(log_name)}"
                )
            time.sleep(0.05)


def _propagating_deletion(user, **fields) -> PrivacyRequest:
    return verified_request(
        user=user,
        kind=PrivacyRequest.Kind.DELETION,
        status=PrivacyRequest.Status.PROPAGATING,
        ground=PrivacyRequest.Ground.NO_CONSENT,
        **fields,
    )


class _Sample:
    """Wall clock, the whole machine's CPU time (/proc/stat) and the recipient's counters."""

    def __init__(self, base: str, *, senders: list[int], recipient: int):
        self.clock = time.perf_counter()
        self.cpu = _machine_cpu()
        # This process's children include the recipient: count them only for the workers.
        self.sender = sum(_process_cpu_ticks(pid, children=pid != os.getpid()) for pid in senders)
        self.recipient = _process_cpu_ticks(recipient)
        self.counts = httpx.get(f"{base}/stats").json()

    def since(self, before: "_Sample") -> dict:
        seconds = self.clock - before.clock
        busy, total = (now - then for now, then in zip(self.cpu, before.cpu, strict=True))
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        return {
            "seconds": seconds,
            "cpu_ms": busy * tick_ms,
            "sender_ms": (self.sender - before.sender) * tick_ms,
            "recipient_ms": (self.recipient - before.recipient) * tick_ms,
            "busy": busy / total if total else 0.0,
            "posts": self.counts["posts"] - before.counts["posts"],
            "connections": self.counts["connections"] - before.counts["connections"] - 1,
        }


def _machine_cpu() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs since boot; (0, 0) where /proc is missing."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(v) for v in stat.readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _process_cpu_ticks(pid: int, *, children: bool = True) -> int:
    """User and system clock ticks of a process and (``children``) of its live children."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        kids = []
        if children:
            with open(f"/proc/{pid}/task/{pid}/children") as found:
                kids = [int(child) for child in found.read().split()]
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12]) + sum(_process_cpu_ticks(kid) for kid in kids)


def _tail(path: str, lines: int = 30) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no worker log)"
