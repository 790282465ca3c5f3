"""SQLite (development, the demo, CI's first pass) takes the write lock when a transaction starts:
it ignores `select_for_update`, so without this two money changes could read the same row."""

from __future__ import annotations

import subprocess
import sys

from tests.test_settings import ROOT, bare_environment

PROBE = (
    "import django; django.setup(); from django.db import connection as c; "
    "print(c.vendor, c.settings_dict['OPTIONS'].get('transaction_mode'))"
)


def _probe(**env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**bare_environment(), "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_sqlite_transactions_are_immediate():
    assert _probe(DEBUG="1") == "sqlite IMMEDIATE"


def test_postgresql_gets_no_sqlite_option():
    assert _probe(DEBUG="1", DATABASE_URL="postgres://u@127.0.0.1:1/x") == "postgresql None"
