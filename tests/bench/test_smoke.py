"""Every benchmark of ``make bench`` runs, at a tiny size, against the test database.

A schema or service change that breaks a benchmark fails here instead of in the next
``make bench``. The figures of a tiny run mean nothing; what is checked is that each
command gets through its whole path (its servers, workers and child processes included,
on this test database) and writes every figure it reports to the results file.
"""

import json
import math
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class

from bench.results import Figure, report

ROOT = Path(__file__).resolve().parents[2]

# command, tiny-size arguments, how many figures it reports, a text every run's figures show.
BENCHMARKS = [
    pytest.param(
        "bench_consents", ["--users", "20", "--repeat", "50"], 5, "consent check", id="consents"
    ),
    pytest.param(
        "bench_api",
        ["--bulk", "20", "--seconds", "0.2", "--rounds", "1", "--clients", "1"],
        6,
        "API consent check",
        id="api",
    ),
    pytest.param(
        "bench_pages",
        ["--users", "50", "--records", "200", "--seconds", "0.2", "--rounds", "1"]
        + ["--clients", "1"],
        8,
        "÷ trivial page",
        id="pages",
    ),
    pytest.param(
        "bench_admin_list",
        ["--users", "50", "--requests", "200", "--repeat", "1"],
        5,
        "admin request list (200 requests)",
        id="admin_list",
    ),
    pytest.param("bench_access_copy", ["--records", "200"], 5, "access copy", id="access_copy"),
    pytest.param(
        "bench_notices",
        ["--notices", "20", "--threads", "1"],
        6,
        "notices delivered",
        id="notices",
        # Delivery goes through the Redis broker to real worker processes: no eager tasks.
        marks=pytest.mark.celery_worker,
    ),
    pytest.param("bench_purge", ["--rows", "200", "--batch-size", "50"], 7, "purge", id="purge"),
]


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    """One collectstatic target for the gunicorn benchmarks: the second run only checks it."""
    return tmp_path_factory.mktemp("static")


def bench_command(name: str):
    """The benchmark command from the bench app, which ``bench.settings`` installs.

    The app is not added to the running test settings: changing INSTALLED_APPS re-runs every
    app's ``ready()``, and the registries they fill refuse a second registration.
    ``test_the_bench_settings_install_every_benchmark`` checks the installed path.
    """
    return load_command_class("bench", name)


@pytest.fixture
def bench_installed(settings, tmp_path, monkeypatch, static_root):
    """The bench settings' URLs (the floors); the results file in tmp_path.

    The environment variables reach the processes the benchmarks start (gunicorn under
    ``bench.settings``, workers, builders), so nothing is written under var/.
    """
    if not settings.REDIS_URL:
        pytest.fail("REDIS_URL is not set: the benchmarks run on Redis (see the Makefile).")
    settings.ROOT_URLCONF = "bench.urls"
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    monkeypatch.setenv("STATIC_ROOT", str(static_root))
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    results = tmp_path / "results.json"
    monkeypatch.setenv("BENCH_RESULTS", str(results))
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("command", "arguments", "figures", "shown"), BENCHMARKS)
def test_the_benchmark_runs_at_a_tiny_size_and_writes_its_figures(
    bench_installed, command, arguments, figures, shown
):
    call_command(bench_command(command), *arguments)

    rows = json.loads(bench_installed.read_text())
    assert len(rows) == figures
    assert any(shown in row["name"] for row in rows)
    for row in rows:
        assert set(row) == {"name", "value", "unit", "goal", "met"}
        assert math.isfinite(row["value"])
        assert row["met"] in (True, False, None)
        # A figure with a goal says whether it met it; one for reference does not.
        assert (row["goal"] is None) == (row["met"] is None)


def test_the_summary_counts_goals_met_and_missed(bench_installed):
    out = StringIO()
    report(
        out,
        [
            Figure("fast enough", 1, "ms", "<= 2"),
            Figure("too slow", 3, "ms", "<= 2"),
            Figure("for reference", 5, "ms"),
        ],
    )

    call_command(bench_command("bench_summary"), stdout=out)

    summary = out.getvalue()
    assert "3 figures in" in summary
    assert "1 goals met, 1 not met, 1 for reference" in summary
    assert "NOT MET: too slow: 3 ms (goal <= 2)" in summary


def manage_commands(settings_module: str) -> list[str]:
    result = subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "manage.py", "help", "--commands"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings_module},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.split()


def test_production_settings_have_no_benchmark():
    assert not [name for name in get_commands() if name.startswith("bench_")]
    commands = manage_commands("privacyportal.settings")
    assert "purge_expired" in commands
    assert not [name for name in commands if name.startswith("bench_")]


def test_the_bench_settings_install_every_benchmark():
    commands = manage_commands("bench.settings")
    expected = {param.values[0] for param in BENCHMARKS} | {"bench_summary"}
    assert {name for name in commands if name.startswith("bench_")} == expected


def test_a_figure_keeps_the_digits_of_its_unit_unless_it_names_its_own(bench_installed):
    report(
        StringIO(),
        [
            Figure("a rate", 1234.567, "requests/s"),
            Figure("a ratio", 0.98765, "ratio"),
            Figure("a time", 1.23456, "ms"),
            Figure("a longest time", 12.6, "ms", ndigits=0),
        ],
    )

    values = [row["value"] for row in json.loads(bench_installed.read_text())]
    assert values == [1235, 0.99, 1.235, 13]
