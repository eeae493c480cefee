"""No known vulnerability in the locked dependencies (uv.lock, every group), by pip-audit.

pip-audit runs as its own process from a directory outside the project (the project's
``requests`` app would shadow PyPI's, which pip-audit imports). It asks PyPI's advisory
service (its JSON API), so it needs the network: when that service does not answer for a
package that certainly exists (Django), the test is skipped with the reason, because
nothing could be audited. Otherwise any finding fails it, and so does any package that
could not be audited (``--strict``): a silent "could not be audited" is no clean bill.
"""

import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".tools" / "bin" / "uv"
PIP_AUDIT = ROOT / ".venv" / "bin" / "pip-audit"


# The endpoint pip-audit's PyPI service reads, for a release that certainly exists.
PROBE = "https://pypi.org/pypi/django/5.2/json"


def vulnerability_service_problem() -> str | None:
    try:
        with urllib.request.urlopen(PROBE, timeout=15) as response:  # noqa: S310
            response.read(1)
    except (urllib.error.URLError, OSError) as error:
        return f"{PROBE} does not answer ({error})"
    return None


def test_locked_dependencies_have_no_known_vulnerability(tmp_path):
    requirements = tmp_path / "requirements.txt"
    exported = subprocess.run(
        [
            str(UV),
            "export",
            "--frozen",
            "--all-groups",
            "--format",
            "requirements.txt",
            "--no-emit-project",
            "--output-file",
            str(requirements),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert exported.returncode == 0, exported.stderr
    assert "django==" in requirements.read_text()
    problem = vulnerability_service_problem()
    if problem:
        pytest.skip(f"NOT AUDITED: pip-audit's vulnerability service is unreachable: {problem}")
    audit = subprocess.run(
        [
            str(PIP_AUDIT),
            "--requirement",
            str(requirements),
            "--no-deps",
            "--disable-pip",
            "--progress-spinner",
            "off",
            "--vulnerability-service",
            "pypi",
            "--strict",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = audit.stdout + audit.stderr
    assert audit.returncode == 0, output
    assert "No known vulnerabilities found" in output
    assert "could not be audited" not in output
