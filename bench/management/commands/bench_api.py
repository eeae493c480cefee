"""Consent checks per second through the API under gunicorn, single and in bulk (``make bench``).

Each figure is measured against a floor on the same server in the same run: the single
check against a trivial JSON view, the bulk check against a view that parses the same
body and answers one entry per id. The ratios are what the goals are about; the rates
depend on the machine. It prints figures; it asserts nothing.
"""

import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from api.models import Scope, ServiceToken
from api.services import service_token_create, service_token_revoke
from bench.data import consent_users
from bench.loadtest import Load, add_load_arguments, compare, gunicorn_server
from bench.results import Figure, report

SERVICE = "bench"
PURPOSE = "personalisation"
BULK = 1000


class Command(BaseCommand):
    help = "Benchmark the API's consent checks (single and bulk of 1,000) under gunicorn."

    def add_arguments(self, parser):
        parser.add_argument(
            "--bulk", dest="bulk_size", type=int, default=BULK, help="user ids in a bulk check"
        )
        add_load_arguments(parser)

    def handle(self, *args, bulk_size, seconds, rounds, clients, **options):
        if not settings.REDIS_URL:
            raise CommandError("Set REDIS_URL: the API answers from the Redis-backed cache.")
        # The users of the consent benchmark, made the same way (the real services).
        user_ids = consent_users(self.stdout, bulk_size)
        plaintext = self._token()
        auth = {"Authorization": f"Bearer {plaintext}"}
        body = json.dumps({"user_ids": user_ids[:bulk_size]}).encode()
        json_headers = {"content-type": "application/json"}
        single = Load("GET", f"/api/v1/consents/{PURPOSE}/users/{user_ids[0]}", auth)
        bulk = Load("POST", f"/api/v1/consents/{PURPOSE}/check", {**auth, **json_headers}, body)

        with gunicorn_server(workers=2) as url:
            single_rps, floor_rps, single_ratio = compare(
                url,
                single,
                Load("GET", "/bench/trivial.json"),
                rounds=rounds,
                seconds=seconds,
                clients=clients,
            )
            bulk_rps, echo_rps, bulk_ratio = compare(
                url,
                bulk,
                Load("POST", "/bench/echo.json", json_headers, body),
                rounds=rounds,
                seconds=seconds,
                clients=clients,
            )

        bulk_name = f"API consent check, bulk of {bulk_size:,}"
        report(
            self.stdout,
            [
                Figure("API consent check, single: checks/s", single_rps, "/s"),
                Figure("trivial JSON view (floor): requests/s", floor_rps, "/s"),
                Figure(
                    "API consent check, single: ratio to the trivial JSON view",
                    single_ratio,
                    "×",
                    ">= 0.5",
                ),
                Figure(f"{bulk_name}: checks/s", bulk_rps * bulk_size, "/s"),
                Figure(f"JSON echo of {bulk_size:,} ids (floor): requests/s", echo_rps, "/s"),
                Figure(f"{bulk_name}: ratio to the JSON echo view", bulk_ratio, "×", ">= 0.5"),
            ],
        )

    def _token(self) -> str:
        """A fresh token for this run: the plaintext of an older one is nowhere to be found."""
        for token in ServiceToken.objects.filter(service=SERVICE, revoked_at__isnull=True):
            service_token_revoke(token=token, actor=None)
        _, plaintext = service_token_create(
            service=SERVICE, scopes=[Scope.CONSENT_READ], actor=None
        )
        return plaintext
