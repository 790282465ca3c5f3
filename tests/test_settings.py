"""Settings read the environment and refuse unsafe production values at start-up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "prod-Secret-" + "0123456789abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOP",
    "ALLOWED_HOSTS": "fund.example.org",
    "EMAIL_URL": "smtp://mail.example.org:587",
    "STRIPE_SECRET_KEY": "sk_live_example",
    "STRIPE_WEBHOOK_SECRET": "whsec_example",
    # Rate-limit counters must be shared by every process: Redis (not contacted by these tests).
    "CACHE_URL": "rediscache://127.0.0.1:6379/1",
    "TRUSTED_PROXY_COUNT": "1",
}
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.PAYMENT_GATEWAY, s.DEBUG, s.SECURE_SSL_REDIRECT, s.STRIPE_WEBHOOK_SECRETS)"
)


def bare_environment() -> dict[str, str]:
    """Only what a server's own environment would hold: nothing leaked from the test run."""
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    return {k: os.environ[k] for k in keep if k in os.environ}


def start(**env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter, as a server process would."""
    clean = {**bare_environment(), "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_production_settings_start_with_stripe():
    result = start(**PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["stripe", "False", "True"]


def test_webhook_secrets_are_comma_separated_for_rotation():
    result = start(**{**PRODUCTION, "STRIPE_WEBHOOK_SECRET": "whsec_old,whsec_new"})

    assert "['whsec_old', 'whsec_new']" in result.stdout


def test_production_refuses_the_demo_gateway_unless_asked_for():
    env = {**PRODUCTION, "STRIPE_SECRET_KEY": "", "STRIPE_WEBHOOK_SECRET": ""}

    refused = start(**env)
    asked = start(**env, PAYMENT_GATEWAY="demo")

    assert refused.returncode != 0
    assert "PAYMENT_GATEWAY=demo" in refused.stderr
    assert asked.returncode == 0, asked.stderr
    assert asked.stdout.split()[0] == "demo"


def test_development_defaults_to_the_demo_gateway():
    result = start(DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["demo", "True"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"SECRET_KEY": "short"}, "50 or more characters"),
        ({"SECRET_KEY": "ab" * 40}, "50 or more characters"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must be set"),
        ({"EMAIL_URL": ""}, "EMAIL_URL must be set"),
        ({"CACHE_URL": ""}, "CACHE_URL must be set"),
        ({"STRIPE_WEBHOOK_SECRET": ""}, "STRIPE_WEBHOOK_SECRET must be set"),
        ({"PAYMENT_GATEWAY": "paypal"}, "PAYMENT_GATEWAY must be"),
        ({"DEBUG": "maybe"}, "DEBUG is invalid"),
        ({"SECURE_SSL_REDIRECT": "flase"}, "SECURE_SSL_REDIRECT is invalid"),
        ({"DATABASE_URL": "nosuchdb://x"}, "isn't an available database backend"),
    ],
)
def test_bad_production_values_fail_clearly(change, message):
    result = start(**{**PRODUCTION, **change})

    assert result.returncode != 0
    assert message in result.stderr


def test_ssl_redirect_can_be_left_to_the_proxy():
    result = start(**PRODUCTION, SECURE_SSL_REDIRECT="0")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[2] == "False"


def test_check_deploy_is_clean_in_production():
    env = {**bare_environment(), **PRODUCTION}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("value", ["0", "60", "604801", "an hour", "-5"])
def test_the_donor_page_link_age_is_checked_at_start_up(value):
    result = start(**{**PRODUCTION, "MY_GIFTS_LINK_MAX_AGE": value})

    assert result.returncode != 0
    assert "MY_GIFTS_LINK_MAX_AGE is invalid" in result.stderr


def test_the_donor_page_link_age_is_read():
    probe = "import django; django.setup(); from django.conf import settings as s; "
    for value, expected in ((None, "3600"), ("86400", "86400")):
        env = {**PRODUCTION, **({"MY_GIFTS_LINK_MAX_AGE": value} if value else {})}
        clean = {**bare_environment(), "DJANGO_SETTINGS_MODULE": "config.settings", **env}
        result = subprocess.run(
            [sys.executable, "-c", probe + "print(s.MY_GIFTS_LINK_MAX_AGE)"],
            cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.stdout.strip() == expected, result.stderr
