"""The benchmarks (``make bench``): a development-only app, installed by ``bench.settings`` alone.

Production (``privacyportal.settings``) does not install it, so ``manage.py help`` there lists
no ``bench_*`` command and no floor view is routed.
"""
