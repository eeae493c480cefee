"""Every user-facing string has a zh-hans translation, and the compiled catalog is current.

makemessages runs on a copy of the source, so the test sees exactly what a
developer's `make messages` would add, without touching the work tree.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    "manage.py",
    "privacyportal",
    "accounts",
    "consents",
    "help",
    "requests",
    "api",
    "templates",
    "locale",
]
CATALOG = Path("locale/zh_Hans/LC_MESSAGES/django.po")


@pytest.fixture(scope="module")
def source_copy(tmp_path_factory):
    if shutil.which("xgettext") is None:
        pytest.fail("gettext is not installed: `make test` installs it (Debian package gettext).")
    copy = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, copy / name)
    return copy


def run(args, cwd):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["VAR_DIR"] = str(cwd / "var")
    return subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_compiled_catalog_matches_the_po_file():
    committed_mo = (ROOT / CATALOG).with_suffix(".mo").read_bytes()
    fresh = subprocess.run(
        ["msgfmt", "-o", "-", str(CATALOG)], cwd=ROOT, capture_output=True, check=True
    ).stdout
    assert fresh == committed_mo, "Run `make messages` and commit the .mo file."


def test_every_user_facing_string_is_translated(source_copy):
    result = run(
        [
            sys.executable,
            "manage.py",
            "makemessages",
            "-l",
            "zh_Hans",
            "--no-obsolete",
            "--no-location",
        ],
        source_copy,
    )
    assert result.returncode == 0, result.stderr
    untranslated = run(
        ["msgattrib", "--untranslated", "--no-wrap", str(CATALOG)], source_copy
    ).stdout
    fuzzy = run(["msgattrib", "--only-fuzzy", "--no-wrap", str(CATALOG)], source_copy).stdout
    missing = [
        line
        for line in untranslated.splitlines()
        if line.startswith("msgid ") and line != 'msgid ""'
    ]
    assert missing == [], (
        "Untranslated strings (run `make messages` and translate them):\n" + "\n".join(missing)
    )
    fuzzy_ids = [
        line for line in fuzzy.splitlines() if line.startswith("msgid ") and line != 'msgid ""'
    ]
    assert fuzzy_ids == [], "Fuzzy translations to review:\n" + "\n".join(fuzzy_ids)


@pytest.mark.django_db
def test_pages_speak_chinese_by_default_and_english_on_request(client):
    body = client.get("/").content.decode()
    assert '<html lang="zh-hans">' in body
    assert "登录" in body
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    body = client.get("/").content.decode()
    assert '<html lang="en">' in body
    assert "Sign in" in body
