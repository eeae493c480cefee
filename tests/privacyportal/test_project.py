"""The project's set-up: the `requests` app, settings from the environment, production checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x9$Vq2!mZr7#Lw4@Tn8^Hb5&Kc1*Jd6(Pf3)Gs0_Ya-Ue+Oi=Rt~Xl",
    "ALLOWED_HOSTS": "privacy.example.cn",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/privacyportal",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
    "SMS_BACKEND": "privacyportal.sms.backends.http.SmsBackend",
    "SMS_HTTP_ENDPOINT": "https://sms.example.cn/send",
    "SMS_HTTP_API_KEY": "key",
}


def manage(*args, env):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DEBUG",
            "SECRET_KEY",
            "ALLOWED_HOSTS",
            "DATABASE_URL",
            "REDIS_URL",
            "SMS_BACKEND",
            "CELERY_TASK_ALWAYS_EAGER",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
        }
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_import_requests_is_the_projects_app():
    import requests

    assert Path(requests.__file__).resolve() == ROOT / "requests" / "__init__.py"


def test_production_settings_pass_check_deploy_without_a_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout
    assert "WARNING" not in result.stderr


def test_check_deploy_warns_when_codes_would_stay_on_disk():
    env = {**PRODUCTION_ENV, "SMS_BACKEND": "privacyportal.sms.backends.filebased.SmsBackend"}
    result = manage("check", "--deploy", env=env)
    assert "privacyportal.W001" in result.stderr + result.stdout
    assert "writes codes to files on disk" in result.stderr + result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_embedded_defaults_need_no_services(tmp_path):
    script = (
        "from django.conf import settings as s; from privacyportal import celery_app as c;"
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.DEBUG,"
        " c.conf.task_always_eager, s.SMS_BACKEND, s.SMS_FILE_PATH)"
    )
    result = manage("shell", "--no-imports", "-c", script, env={"VAR_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    engine, cache, debug, eager, backend, sms_path = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert cache.endswith("LocMemCache")
    assert debug == "True" and eager == "True"
    assert backend.endswith("filebased.SmsBackend")
    assert sms_path == str(tmp_path / "sms")


def test_services_from_the_environment():
    script = (
        "from django.conf import settings as s; from privacyportal import celery_app as c;"
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'],"
        " c.conf.broker_url, c.conf.task_always_eager)"
    )
    result = manage("shell", "--no-imports", "-c", script, env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6379/15",
        "False",
    ]


@pytest.mark.django_db
def test_no_missing_migrations():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
