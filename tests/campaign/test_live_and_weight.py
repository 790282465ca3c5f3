"""The page refreshes its totals by itself, stays light, and loads nothing from other sites."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.factories import confirmed_donation

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PAGE_BUDGET_BYTES = 60 * 1024


def test_campaign_page_html_css_and_js_weigh_under_60_kb(client, campaign):
    for n in range(5):
        confirmed_donation(campaign, "25.00", display_name=f"Donor {n}", message="x" * 400)
    for language in ("", "/fr"):
        html = client.get(f"{language}/campaigns/{campaign.slug}/").content
        assets = re.findall(rb'(?:href|src)="/static/([^"]+)"', html)
        assert b"css/site.css" in b" ".join(assets) and b"js/campaign.js" in b" ".join(assets)
        weight = len(html) + sum((ROOT / "static" / a.decode()).stat().st_size for a in assets)
        assert weight < PAGE_BUDGET_BYTES, f"{language or '/'}: {weight} bytes"


def test_no_third_party_resources_and_no_inline_scripts(client, campaign):
    html = client.get(f"/campaigns/{campaign.slug}/").content.decode()

    loaded = re.findall(r'<(?:script|link|img|iframe)\b[^>]*(?:src|href)="([^"]+)"', html)
    assert loaded, "expected the stylesheet and the script"
    # Our own pages and files only (the canonical link names this site's own address).
    assert all(url.startswith(("/", "http://testserver/", "data:")) for url in loaded), loaded
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
    assert " on" + "click=" not in html


def test_progress_fragment_is_fresh_and_announced_politely(client, campaign):
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert (
        '<p id="progress-announce" class="visually-hidden" role="status" aria-live="polite"' in page
    )
    assert f'data-fragment-url="/campaigns/{campaign.slug}/progress/"' in page

    confirmed_donation(campaign, "150.00")
    fragment = client.get(f"/campaigns/{campaign.slug}/progress/")

    assert fragment.status_code == 200
    max_age = re.search(r"max-age=(\d+)", fragment["Cache-Control"])
    assert max_age and int(max_age.group(1)) <= 15
    body = fragment.content.decode()
    assert 'id="progress"' in body and "10% — $150.00 of $1,500.00" in body
    assert 'role="progressbar"' in body and 'aria-valuenow="10.0"' in body
    french = client.get(f"/fr/campaigns/{campaign.slug}/progress/").content.decode()
    assert 'data-fragment-url="/fr/campaigns/' in french and "150,00" in french


def test_static_files_are_compressed_and_cache_busted_in_production():
    from django.conf import settings

    source = (ROOT / "config" / "settings.py").read_text()
    assert "whitenoise.storage.CompressedManifestStaticFilesStorage" in source
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE
