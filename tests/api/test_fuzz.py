"""A property-based fuzz of the API from its own OpenAPI schema: no 500, and every answer
matches the schema. Schemathesis runs as its own process (its pytest plugin would import
PyPI's ``requests`` over the project's app), from a directory outside the project."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.accounts.factories import UserFactory
from tests.requests.factories import RecipientFactory

from .conftest import grant

pytestmark = pytest.mark.django_db(transaction=True, reset_sequences=True)

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


def test_the_api_survives_a_fuzz_from_its_own_schema(live_server, token, tmp_path):
    # Users with small ids (the sequences start again) and the recipient the schema's
    # examples name, so generated calls reach the success paths too, not only refusals.
    users = [UserFactory() for _ in range(10)]
    for user in users[::2]:
        grant(user, "personalisation")
        grant(user, "third_party_sharing")
    RecipientFactory(name="Acme Logistics")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}

    result = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance,"
            "content_type_conformance",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            "60",
            "--seed",
            "20251124",
            "--workers",
            "1",
            "--suppress-health-check",
            "too_slow",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    # Every operation in the schema was exercised.
    assert "Tested: 5" in result.stdout, result.stdout
