"""The README stays true about what operators must configure in Stripe."""

from __future__ import annotations

from pathlib import Path

from donations.services import HANDLERS

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_names_every_handled_webhook_event():
    text = README.read_text()

    missing = [name for name in HANDLERS if f"`{name}`" not in text]

    assert missing == [], f"README.md does not list these webhook events: {missing}"


def test_readme_names_every_setting_it_needs():
    text = README.read_text()

    for name in (
        "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL",
        "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "EMAIL_URL", "SITE_URL",
        "SECURE_SSL_REDIRECT", "PAYMENT_GATEWAY",
    ):  # fmt: skip
        assert f"`{name}`" in text, name
