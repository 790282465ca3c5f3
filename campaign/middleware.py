"""Send a first-time French reader to the French site.

English pages have no prefix (`prefix_default_language=False`), so Django's LocaleMiddleware always
serves them in English. This middleware redirects a page view to its `/fr/` twin when the visitor
chose French with the language switcher (the language cookie) or, before any choice, when the
browser's Accept-Language prefers French. Choosing English with the switcher sets the cookie to
English and stops the redirect.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import translate_url
from django.utils import translation
from django.utils.cache import patch_vary_headers


class PreferredLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # "//evil.example/" (or "/\\evil.example/") would become a redirect to another site: such a
        # path is no page of ours, so it is left to answer 404.
        if request.path.startswith(("//", "/\\")) or not self._is_english_page_view(request):
            return self.get_response(request)
        target = self._french_twin(request)
        response = HttpResponseRedirect(target) if target else self.get_response(request)
        # Whether this address answers with the page or a redirect depends on these headers.
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        return response

    @staticmethod
    def _is_english_page_view(request: HttpRequest) -> bool:
        # Only page views by a browser: images, JSON, fragments and form posts keep their address.
        return (
            request.method in ("GET", "HEAD")
            and "text/html" in request.headers.get("Accept", "")
            and request.headers.get("Sec-Fetch-Mode", "navigate") == "navigate"
            and translation.get_language_from_path(request.path_info) is None
        )

    @staticmethod
    def _french_twin(request: HttpRequest) -> str:
        preferred = translation.get_language_from_request(request, check_path=False)
        if preferred.split("-")[0] != "fr":
            return ""
        path = request.get_full_path()
        target = translate_url(path, "fr")
        return target if target != path else ""
