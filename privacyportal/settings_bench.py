"""Settings for the benchmark server (``make bench``): the portal's settings plus the floor views."""

from privacyportal.settings import *  # noqa: F403

ROOT_URLCONF = "privacyportal.bench_urls"
