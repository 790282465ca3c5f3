"""The floor: the cheapest page Django can serve here, the yardstick for every throughput figure.

A fixed 2 KB HTML page through the full middleware stack, with no template, database or cache.
Routed only when the BENCH setting is on (config/urls.py).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

_HEAD = '<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Floor</title></head>'
_TAIL = "</p></body></html>\n"
_SIZE = 2048
FLOOR_HTML = (_HEAD + "<body><p>" + "Floor page for the benchmarks. " * 80)[
    : _SIZE - len(_TAIL)
] + _TAIL


@require_GET
def floor(request: HttpRequest) -> HttpResponse:
    return HttpResponse(FLOOR_HTML)


@require_GET
def campaign_render(request: HttpRequest, slug: str) -> HttpResponse:
    """The campaign page as each change renders it, every time: the figures afresh into the frame
    (rendered once per edit), then personalised. What the page cache does once per counted gift."""
    from front import cache as page_cache
    from front.pages import campaign_page_render

    html = campaign_page_render(request, slug=slug)
    return HttpResponse(page_cache.personalise(html, request))
