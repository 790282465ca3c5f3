"""Every public page of a campaign, found from the URL configuration so new pages are covered."""

from __future__ import annotations

from django.urls import URLPattern, reverse

import campaign.urls
import donations.urls


def public_get_urls(*, slug: str, update_slug: str | None = None) -> list[str]:
    urls = ["/"]
    for module in (campaign.urls, donations.urls):
        for pattern in module.urlpatterns:
            if not isinstance(pattern, URLPattern) or not pattern.name:
                continue
            converters = set(pattern.pattern.converters)
            name = f"{module.app_name}:{pattern.name}"
            if converters == {"slug"} and not name.endswith(("donate", "subscribe")):
                urls.append(reverse(name, kwargs={"slug": slug}))
            elif converters == {"slug", "update"} and update_slug:
                urls.append(reverse(name, kwargs={"slug": slug, "update": update_slug}))
    return urls
