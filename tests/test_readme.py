"""The README stays true: what operators must configure in Stripe, and where the code lives."""

from __future__ import annotations

import re
from pathlib import Path

from donations.services import HANDLERS

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


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


def test_the_architecture_section_names_every_top_level_package():
    section = README.read_text().split("## Architecture", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"^([a-z_]+)/ ", section, flags=re.MULTILINE))
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if not path.parent.name.startswith(".")
    }
    assert packages - named == set(), "add these packages to the README's Architecture section"
