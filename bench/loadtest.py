"""Run the portal under gunicorn and measure requests per second against it (``make bench``).

Figures that depend on the machine are ratios: every endpoint is measured in the same run,
on the same server, alternating with a floor view (``bench.urls``), and the
median of the rounds is reported. The load comes from client processes (one keep-alive
httpx client each), so the client's interpreter is never the server's.
"""

import multiprocessing
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a process a benchmark starts (server, worker, builder).

    The child must see the rows this process made, so it opens the database this process
    has open: under ``make bench`` that is ``DATABASE_URL``'s, under the smoke test
    (tests/bench/) the test database, which ``DATABASE_URL`` does not name.
    """
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = f"{credentials}@{db['HOST']}" if credentials else db["HOST"]
    port = f":{db['PORT']}" if db["PORT"] else ""
    database_url = f"postgres://{host}{port}/{quote(db['NAME'], safe='')}"
    return {**os.environ, "DATABASE_URL": database_url, **extra}


def stop(process: subprocess.Popen, *, timeout: float) -> None:
    """Ask a child process to end; kill it if it has not within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn_server(*, workers: int = 2, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``gunicorn privacyportal.wsgi`` in production mode over plain HTTP; yield its URL."""
    port = _free_port()
    server_env = child_env(
        **{
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            # The benchmark talks plain HTTP on loopback: no redirect to HTTPS.
            "SECURE_SSL_REDIRECT": "false",
            "LOG_LEVEL": "WARNING",
            **(env or {}),
        }
    )
    # As a deployment does: production settings serve hashed static files from the manifest.
    subprocess.run(  # noqa: S603  (our own interpreter, fixed arguments)
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=server_env,
        check=True,
    )
    proc = subprocess.Popen(  # noqa: S603  (our own interpreter, fixed arguments)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "privacyportal.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env=server_env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {proc.returncode}")
            try:
                if httpx.get(f"{url}/bench/trivial.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        stop(proc, timeout=30)


@dataclass(frozen=True)
class Load:
    """One kind of request to repeat: what it is and what answer counts as success."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    expect_status: int = 200


def _client(args) -> tuple[int, int]:
    url, load, seconds = args
    done = failed = 0
    with httpx.Client(base_url=url, headers=load.headers, timeout=30) as client:
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            response = client.request(load.method, load.path, content=load.body)
            if response.status_code == load.expect_status:
                done += 1
            else:
                failed += 1
    return done, failed


def requests_per_second(
    url: str, load: Load, *, seconds: float = 3.0, clients: int = 4, pool=None
) -> float:
    """Requests per second answered with ``load.expect_status`` by ``clients`` processes.

    ``pool`` is a process pool of ``clients`` processes to run them in (a new one if None).
    Any other answer stops the benchmark: a fast error must never count as throughput.
    """
    if pool is None:
        with multiprocessing.get_context("spawn").Pool(clients) as pool:
            return requests_per_second(url, load, seconds=seconds, clients=clients, pool=pool)
    results = pool.map(_client, [(url, load, seconds)] * clients)
    done = sum(r[0] for r in results)
    failed = sum(r[1] for r in results)
    if failed:
        raise RuntimeError(
            f"{load.method} {load.path}: {failed} answers were not {load.expect_status}"
        )
    return done / seconds


def add_load_arguments(parser) -> None:
    """The command-line options of ``compare``, for a benchmark that measures with it."""
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=4)


def compare(
    url: str, load: Load, floor: Load, *, rounds: int = 3, seconds: float = 3.0, clients: int = 4
) -> tuple[float, float, float]:
    """Measure ``load`` and ``floor`` alternately; return their median rps and the median ratio.

    One pool of client processes serves every round: the clients are started once, and are
    all up and idle when each measurement begins.
    """
    warm = min(1.0, seconds)  # a second warms both workers; a shorter run (the smoke test) less
    with multiprocessing.get_context("spawn").Pool(clients) as pool:
        requests_per_second(url, floor, seconds=warm, clients=clients, pool=pool)
        requests_per_second(url, load, seconds=warm, clients=clients, pool=pool)
        measured, floors, ratios = [], [], []
        for _ in range(rounds):
            floor_rps = requests_per_second(url, floor, seconds=seconds, clients=clients, pool=pool)
            load_rps = requests_per_second(url, load, seconds=seconds, clients=clients, pool=pool)
            floors.append(floor_rps)
            measured.append(load_rps)
            ratios.append(load_rps / floor_rps)
    return statistics.median(measured), statistics.median(floors), statistics.median(ratios)
