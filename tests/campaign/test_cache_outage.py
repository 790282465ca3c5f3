"""Redis (the shared cache) down: public pages render uncached instead of answering 500, and an
invalidation that could not be made is made as soon as the cache answers again."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django_redis.exceptions import ConnectionInterrupted

from campaign import cache as page_cache

pytestmark = pytest.mark.django_db


@pytest.fixture
def page_cache_on(settings):
    settings.PAGE_CACHE = True
    page_cache.local_reset()
    yield
    page_cache.local_reset()


@pytest.fixture
def redis_down(monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionInterrupted(connection=None)

    backend = caches["default"]
    for name in ("get", "set", "add", "incr"):
        monkeypatch.setattr(backend, name, down)


@pytest.mark.parametrize(
    "path", ["/campaigns/{slug}/", "/fr/campaigns/{slug}/", "/campaigns/{slug}/totals.json",
             "/campaigns/{slug}/badge.svg", "/campaigns/{slug}/badge.png",
             "/campaigns/{slug}/supporters/"],
)  # fmt: skip
def test_public_pages_render_uncached_while_redis_is_down(
    client, campaign, page_cache_on, redis_down, path, caplog
):
    response = client.get(path.format(slug=campaign.slug))

    assert response.status_code == 200
    assert "Cache unavailable" in caplog.text


def test_a_lost_invalidation_is_made_when_the_cache_answers(campaign, page_cache_on, monkeypatch):
    first = page_cache.page_key("detail", campaign.slug)
    backend = caches["default"]
    real_incr = backend.incr

    def down(*args, **kwargs):
        raise ConnectionInterrupted(connection=None)

    monkeypatch.setattr(backend, "incr", down)
    page_cache.pages_invalidate()  # a donation counted while Redis was unreachable
    monkeypatch.setattr(backend, "incr", real_incr)

    assert page_cache.page_key("detail", campaign.slug) != first
