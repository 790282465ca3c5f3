"""Loaded by pytest before Django's settings (`-p tests.testenv`): test-only environment."""

import os

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("EMAIL_URL", "memorymail://")
os.environ.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_test_primary")
os.environ.setdefault("SITE_URL", "http://testserver")
