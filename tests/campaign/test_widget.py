"""What other sites show: the embeddable widget, the badges, the share card and its tags."""

from __future__ import annotations

import io
import logging
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from PIL import Image

from front import images
from tests.support.factories import confirmed_donation

pytestmark = pytest.mark.django_db


def max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control)
    assert match, cache_control
    return int(match.group(1))


def png_size(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as image:
        assert image.format == "PNG"
        return image.size


def test_embed_page_may_be_framed_and_the_campaign_page_may_not(client, campaign):
    confirmed_donation(campaign, "375.00")

    embed = client.get(f"/campaigns/{campaign.slug}/embed/")
    page = client.get(f"/campaigns/{campaign.slug}/")

    assert embed.status_code == 200
    assert "X-Frame-Options" not in embed.headers
    assert page["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert "frame-ancestors *" in embed["Content-Security-Policy"]
    html = embed.content.decode()
    assert "25% — $375.00 of $1,500.00" in html
    assert 'target="_blank"' in html and f"/campaigns/{campaign.slug}/" in html
    assert 'class="site-header"' not in html  # no site chrome inside someone else's page
    assert max_age(embed["Cache-Control"]) <= 60


def test_badge_svg_shows_the_progress_and_escapes_the_title(client, campaign):
    campaign.title = 'Fund <script>alert("x")</script>'
    campaign.save()
    confirmed_donation(campaign, "750.00")

    response = client.get(f"/campaigns/{campaign.slug}/badge.svg")

    assert response["Content-Type"].startswith("image/svg+xml")
    svg = response.content.decode()
    assert "$750.00 of $1,500.00 · 50%" in svg
    assert 'width="190"' in svg  # half of the 380-pixel track
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert response["Cache-Control"] == "public, max-age=60"


def test_badge_svg_in_french(client, campaign):
    confirmed_donation(campaign, "1250.00")

    svg = client.get(f"/fr/campaigns/{campaign.slug}/badge.svg").content.decode()

    assert "1\u00a0250,00\u00a0$ sur 1\u00a0500,00\u00a0$ · 83\u00a0%" in svg


def test_badge_png_and_share_card_are_pngs_of_the_right_size(client, campaign):
    badge = client.get(f"/campaigns/{campaign.slug}/badge.png")
    share = client.get(f"/fr/campaigns/{campaign.slug}/share.png")

    assert badge["Content-Type"] == "image/png" and png_size(badge.content) == (400, 72)
    assert share["Content-Type"] == "image/png" and png_size(share.content) == (1200, 630)
    assert badge["Cache-Control"] == "public, max-age=60"


def test_png_badge_is_cached_briefly_then_redrawn(client, campaign):
    before = client.get(f"/campaigns/{campaign.slug}/badge.png").content
    confirmed_donation(campaign, "750.00")

    assert client.get(f"/campaigns/{campaign.slug}/badge.png").content == before  # within a minute
    cache.clear()  # what the 60-second expiry does
    assert client.get(f"/campaigns/{campaign.slug}/badge.png").content != before


def test_images_fall_back_without_dejavu_and_say_so(monkeypatch, caplog):
    monkeypatch.setattr(images, "FONT_DIRS", ())
    images._font_file.cache_clear()
    images._font.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="front.images"):
            data = images.badge_png(
                images.Progress(
                    title="Fonds de défense",
                    headline="1\u00a0250,00\u00a0$ sur 1\u00a0500,00\u00a0$",
                    percent_text="83\u00a0%",
                    detail="",
                    bar_percent=Decimal(83),
                )
            )
        assert png_size(data) == (400, 72)
        assert "fonts-dejavu-core" in caplog.text
        assert images._text("Fonds de défense 1\u00a0250 $") == "Fonds de defense 1 250 $"
    finally:
        images._font_file.cache_clear()
        images._font.cache_clear()


def test_campaign_page_has_share_tags_and_copy_paste_snippets(client, campaign):
    confirmed_donation(campaign, "375.00")

    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    base = f"http://testserver/campaigns/{campaign.slug}"

    assert f'<meta property="og:image" content="{base}/share.png">' in page
    assert '<meta property="og:image:width" content="1200">' in page
    assert '<meta name="twitter:card" content="summary_large_image">' in page
    assert '<meta property="og:description" content="25% — $375.00 of $1,500.00' in page
    assert (
        f"&lt;iframe src=&quot;{base}/embed/&quot;" in page
        or f'&lt;iframe src="{base}/embed/"' in page
    )
    assert f"[url={base}/][img]{base}/badge.png[/img][/url]" in page


def test_french_share_tags(client, campaign):
    page = client.get(f"/fr/campaigns/{campaign.slug}/").content.decode()

    assert '<meta property="og:locale" content="fr_CA">' in page
    assert f'content="http://testserver/fr/campaigns/{campaign.slug}/share.png"' in page
