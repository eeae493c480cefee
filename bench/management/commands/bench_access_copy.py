"""Measure building an access copy for a user with 100,000 browsing records.

Run against the real services (``make bench``). The benchmark user (+8617100000000)
and their records are created once and reused; each run files a fresh access request
(rows made directly: the SMS check is not what is measured), deletes the previous
run's requests and ZIP files, and builds the copy in a fresh child process, so the
figures are the build's alone: wall time, and peak RSS against the same process's
RSS right after ``django.setup()``. It reports figures (``bench.results``);
it asserts nothing.
"""

import json
import subprocess
import sys
import time
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import BrowsingRecord, SecurityEvent
from bench.data import accept_and_consent, verified_request
from bench.loadtest import child_env
from bench.results import Figure, report
from privacyportal.registry import registry
from requests.deadlines import due_date
from requests.models import AccessCopy, PrivacyRequest

BENCH_PHONE = "+8617100000000"
BATCH = 10_000
GOAL_SECONDS = "<= 10"
GOAL_RSS_MB = "<= 200"

# The child only builds: Django set up, the copy built, the figures printed as JSON.
# Peak RSS is the kernel's high-water mark of the child's own address space (VmHWM):
# on Linux, ru_maxrss survives fork and exec, so the child's would start at this
# (parent) process's peak, records creation included.
CHILD = """
import json, resource, sys, time

import django

django.setup()

from django.conf import settings
from django.db import connection

from privacyportal import celery_app
from requests.access_copy import build_access_copy


def peak_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


# The completion SMS goes nowhere: to memory, in this process.
settings.SMS_BACKEND = "privacyportal.sms.backends.locmem.SmsBackend"
celery_app.conf.task_always_eager = True
connection.ensure_connection()
baseline = peak_kb()
start = time.perf_counter()
build_access_copy(int(sys.argv[1]))
seconds = time.perf_counter() - start
print(json.dumps({"baseline_kb": baseline, "peak_kb": peak_kb(), "seconds": seconds}))
"""


class Command(BaseCommand):
    help = "Benchmark building an access copy (100,000 browsing records) and print the figures."

    def add_arguments(self, parser):
        parser.add_argument("--records", type=int, default=100_000)

    def handle(self, *args, records, **options):
        user = self._bench_user(records)
        self._clean_previous(user)
        copy = self._fresh_copy(user)
        counts = {kind.code: kind.queryset_for_user(user).count() for kind in registry.kinds()}
        figures = self._build_in_child(copy.pk)
        copy.refresh_from_db()
        if copy.status != AccessCopy.Status.READY:
            raise CommandError(f"The copy was not built: {copy.get_status_display()} {copy.error}")

        browsing = counts["browsing_records"]
        rows = sum(counts.values())
        seconds = figures["seconds"]
        baseline_mb = figures["baseline_kb"] / 1024
        peak_mb = figures["peak_kb"] / 1024
        zip_mb = copy.size / 1024 / 1024
        self.stdout.write(
            f"access copy benchmark: {browsing:,} browsing records, {rows:,} rows in "
            f"{len(counts)} kinds, built in a fresh process"
        )
        report(
            self.stdout,
            [
                Figure(
                    f"access copy of {browsing:,} records: build time", seconds, "s", GOAL_SECONDS
                ),
                Figure("access copy: peak RSS of the building process", peak_mb, "MB", GOAL_RSS_MB),
                Figure(
                    "access copy: RSS after django.setup() (the build added the rest)",
                    baseline_mb,
                    "MB",
                ),
                Figure(f"access copy: ZIP size ({copy.file.name})", zip_mb, "MB"),
                Figure("access copy: throughput", rows / seconds, "rows/s"),
            ],
        )

    def _bench_user(self, records: int):
        User = get_user_model()
        user = User.objects.filter(phone=BENCH_PHONE).first()
        if user is None:
            self.stdout.write("creating the access-copy benchmark user …")
            user = self._create_user()
        existing = BrowsingRecord.objects.filter(user=user).count()
        if existing < records:
            self.stdout.write(f"creating {records - existing:,} browsing records …")
            now = timezone.now()
            for start in range(existing, records, BATCH):
                BrowsingRecord.objects.bulk_create(
                    [_record(user, n, now) for n in range(start, min(start + BATCH, records))],
                    batch_size=BATCH,
                )
        return user

    @transaction.atomic
    def _create_user(self):
        User = get_user_model()
        user = User.objects.create_user(phone=BENCH_PHONE, phone_verified=True, nickname="基准")
        accept_and_consent(user)
        for n, kind in enumerate(SecurityEvent.Kind.values[:5]):
            SecurityEvent.objects.create(
                user=user,
                kind=kind,
                occurred_at=timezone.now() - timedelta(days=n),
                ip_address=f"198.51.100.{n + 1}",
                user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
                detail="code" if kind == SecurityEvent.Kind.SIGNED_IN else "",
            )
        PrivacyRequest.objects.create(
            user=user,
            kind=PrivacyRequest.Kind.QUESTION,
            details="你们保存了我的哪些信息？",
            due_on=due_date(timezone.now()),
        )
        return user

    def _clean_previous(self, user) -> None:
        previous = PrivacyRequest.objects.filter(user=user, kind=PrivacyRequest.Kind.ACCESS)
        for name in (
            AccessCopy.objects.filter(request__in=previous)
            .exclude(file="")
            .values_list("file", flat=True)
        ):
            default_storage.delete(name)
        previous.delete()

    @transaction.atomic
    def _fresh_copy(self, user) -> AccessCopy:
        privacy_request = verified_request(
            user=user, kind=PrivacyRequest.Kind.ACCESS, status=PrivacyRequest.Status.IN_PROGRESS
        )
        return AccessCopy.objects.create(request=privacy_request)

    def _build_in_child(self, copy_id: int) -> dict:
        env = child_env(DJANGO_SETTINGS_MODULE="privacyportal.settings")
        started = time.perf_counter()
        result = subprocess.run(  # noqa: S603  (our own interpreter and code)
            [sys.executable, "-c", CHILD, str(copy_id)],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            raise CommandError(f"The build failed:\n{result.stderr[-4000:]}")
        figures = json.loads(result.stdout.strip().splitlines()[-1])
        figures["process_seconds"] = time.perf_counter() - started
        return figures


def _record(user, n: int, now) -> BrowsingRecord:
    if n % 3:
        return BrowsingRecord(
            user=user,
            kind=BrowsingRecord.Kind.SEARCH,
            text=f"如何修改手机号 {n}" if n % 2 else f"delete my account {n}",
            occurred_at=now - timedelta(seconds=60 * n),
        )
    return BrowsingRecord(
        user=user,
        kind=BrowsingRecord.Kind.VIEW,
        text="隐私政策：您的权利",
        path=f"/help/topic-{n % 50}/",
        occurred_at=now - timedelta(seconds=60 * n),
    )
