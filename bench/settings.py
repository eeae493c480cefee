"""Settings for ``make bench``: the portal's settings plus the benchmark app and its floors."""

from privacyportal.settings import *  # noqa: F403
from privacyportal.settings import INSTALLED_APPS as PORTAL_APPS

INSTALLED_APPS = [*PORTAL_APPS, "bench"]
ROOT_URLCONF = "bench.urls"
