"""Consent checks per second through the API under gunicorn, single and in bulk (``make bench``).

Each figure is measured against a floor on the same server in the same run: the single
check against a trivial JSON view, the bulk check against a view that parses the same
body and answers one entry per id. The ratios are what the goals are about; the rates
depend on the machine. It prints figures; it asserts nothing.
"""

import json

from django.core.management.base import BaseCommand, CommandError

from api.models import Scope, ServiceToken
from api.services import service_token_create, service_token_revoke
from consents.management.commands.bench_consents import Command as ConsentBench
from consents.management.commands.bench_consents import consent_cache_available
from privacyportal.benchresults import report
from privacyportal.loadtest import Load, compare, gunicorn_server

SERVICE = "bench"
PURPOSE = "personalisation"
BULK = 1000


class Command(BaseCommand):
    help = "Benchmark the API's consent checks (single and bulk of 1,000) under gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--seconds", type=float, default=3.0)
        parser.add_argument("--rounds", type=int, default=3)

    def handle(self, *args, seconds, rounds, **options):
        if not consent_cache_available():
            raise CommandError("Set REDIS_URL: the API answers from the Redis-backed cache.")
        # The users of the consent benchmark, made the same way (the real services).
        user_ids = ConsentBench(stdout=self.stdout)._bench_users(BULK)
        plaintext = self._token()
        auth = {"Authorization": f"Bearer {plaintext}"}
        body = json.dumps({"user_ids": user_ids[:BULK]}).encode()
        json_headers = {"content-type": "application/json"}
        single = Load("GET", f"/api/v1/consents/{PURPOSE}/users/{user_ids[0]}", auth)
        bulk = Load("POST", f"/api/v1/consents/{PURPOSE}/check", {**auth, **json_headers}, body)

        with gunicorn_server(workers=2) as url:
            single_rps, floor_rps, single_ratio = compare(
                url, single, Load("GET", "/bench/trivial.json"), rounds=rounds, seconds=seconds
            )
            bulk_rps, echo_rps, bulk_ratio = compare(
                url,
                bulk,
                Load("POST", "/bench/echo.json", json_headers, body),
                rounds=rounds,
                seconds=seconds,
            )

        out = self.stdout
        report(
            out, name="API consent check, single: checks/s", value=single_rps, unit="/s", ndigits=0
        )
        report(
            out, name="trivial JSON view (floor): requests/s", value=floor_rps, unit="/s", ndigits=0
        )
        report(
            out,
            name="API consent check, single: ratio to the trivial JSON view",
            value=single_ratio,
            unit="×",
            goal=">= 0.5",
        )
        report(
            out,
            name="API consent check, bulk of 1,000: checks/s",
            value=bulk_rps * BULK,
            unit="/s",
            ndigits=0,
        )
        report(
            out,
            name="JSON echo of 1,000 ids (floor): requests/s",
            value=echo_rps,
            unit="/s",
            ndigits=0,
        )
        report(
            out,
            name="API consent check, bulk of 1,000: ratio to the JSON echo view",
            value=bulk_ratio,
            unit="×",
            goal=">= 0.5",
        )

    def _token(self) -> str:
        """A fresh token for this run: the plaintext of an older one is nowhere to be found."""
        for token in ServiceToken.objects.filter(service=SERVICE, revoked_at__isnull=True):
            service_token_revoke(token=token, actor=None)
        _, plaintext = service_token_create(
            service=SERVICE, scopes=[Scope.CONSENT_READ], actor=None
        )
        return plaintext
