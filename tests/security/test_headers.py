"""Security headers on every page, the embeddable widget's exception, and `check --deploy`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.http import HttpResponse
from django.urls import path

from config.security import frame_embeddable

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


def _csp(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part for part in (p.strip() for p in policy.split(";")) if part}


def test_campaign_page_sends_a_strict_policy(client, campaign):
    response = client.get(f"/campaigns/{campaign.slug}/")

    csp = _csp(response)
    assert csp["default-src"] == "default-src 'self'"
    # A nonce is added when the page has an inline script that uses it (Django's LazyNonce).
    assert csp["script-src"].startswith("script-src 'self'")
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"]
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert csp["object-src"] == "object-src 'none'"
    assert csp["base-uri"] == "base-uri 'self'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_inline_scripts_carry_the_request_nonce(client, campaign):
    response = client.get(f"/campaigns/{campaign.slug}/")
    html = response.content.decode()
    script_src = _csp(response)["script-src"]
    nonce = script_src.split("'nonce-")[1].split("'")[0] if "'nonce-" in script_src else None
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or (nonce and f'nonce="{nonce}"' in tag), tag


def test_a_template_using_the_nonce_gets_it_in_the_header(rf):
    from django.middleware.csp import ContentSecurityPolicyMiddleware
    from django.template import engines

    template = engines["django"].from_string('<script nonce="{{ csp_nonce }}">go()</script>')
    middleware = ContentSecurityPolicyMiddleware(
        lambda request: HttpResponse(template.render({}, request))
    )
    response: Any = middleware(rf.get("/"))
    found = re.search(r'nonce="([^"]+)"', response.content.decode())
    assert found is not None
    assert f"'nonce-{found.group(1)}'" in response["Content-Security-Policy"]


def embedded(request):
    return HttpResponse("<p>widget</p>")


urlpatterns = [path("embed-test/", frame_embeddable(embedded))]


@pytest.mark.urls("tests.security.test_headers")
def test_frame_embeddable_views_may_be_framed_and_nothing_else_changes(client, settings):
    settings.EMBED_FRAME_ANCESTORS = ["https://forum.example"]

    response = client.get("/embed-test/")

    assert "X-Frame-Options" not in response
    csp = _csp(response)
    assert csp["frame-ancestors"] == "frame-ancestors https://forum.example"
    assert csp["default-src"] == "default-src 'self'"


def test_the_campaign_widget_is_embeddable(client, campaign):
    response = client.get(f"/campaigns/{campaign.slug}/embed/")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert _csp(response)["frame-ancestors"] == "frame-ancestors *"


def test_https_request_gets_hsts_and_secure_cookies(client, campaign, settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True

    response = client.get(f"/campaigns/{campaign.slug}/", secure=True)

    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    csrf = response.cookies.get("csrftoken")
    assert csrf is not None and csrf["secure"] and csrf["samesite"] == "Lax"


PRODUCTION_ENV = {
    "DEBUG": "0",
    "TESTING": "0",
    "SECRET_KEY": "x" * 20 + "production-secret-key-that-is-long-enough-0123456789",
    "ALLOWED_HOSTS": "fund.example.ca",
    "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
    "CACHE_URL": "rediscache://127.0.0.1:6379/9",
    "STRIPE_SECRET_KEY": "sk_live_placeholder",
    "STRIPE_WEBHOOK_SECRET": "whsec_live_placeholder",
    "EMAIL_URL": "smtp+tls://user:pass@smtp.example.ca:587",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/9",
    "TRUSTED_PROXY_COUNT": "1",
}


def _production(*args: str) -> subprocess.CompletedProcess[str]:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set for the browser tests (tests/e2e), never in production.
    leaked = ("TESTING", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")
    env = {k: v for k, v in os.environ.items() if k not in leaked}
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**env, **PRODUCTION_ENV},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_check_deploy_is_clean_in_production():
    result = _production("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_settings_values():
    code = (
        "from django.conf import settings as s;"
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
        " s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.X_FRAME_OPTIONS, s.AXES_ENABLED,"
        " s.RATELIMIT_ENABLE)"
    )
    result = _production("shell", "--no-imports", "-c", code)
    assert result.stdout.split() == ["True", "True", "31536000", "True", "DENY", "True", "True"]


def test_production_refuses_a_local_memory_rate_limit_cache():
    env = {**PRODUCTION_ENV, "CACHE_URL": "locmemcache://"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in ("TESTING", "DEBUG")}, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and "django_ratelimit.E003" in result.stderr
