"""Response-header helpers for views that differ from the site-wide security settings."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def frame_embeddable(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let other sites frame this view (the campaign widget): no X-Frame-Options, and the CSP's
    `frame-ancestors` from EMBED_FRAME_ANCESTORS instead of 'none'. Everything else stays as
    strict as the rest of the site."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        response.xframe_options_exempt = True  # type: ignore[attr-defined]
        policy = dict(settings.SECURE_CSP)
        policy["frame-ancestors"] = list(settings.EMBED_FRAME_ANCESTORS)
        response._csp_config = policy  # type: ignore[attr-defined]
        return response

    return wrapped
