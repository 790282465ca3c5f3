"""Every public page of a campaign, found from the URL configuration so new pages are covered."""

from __future__ import annotations

from django.urls import URLPattern, reverse

from front.urls import campaign_patterns, donation_patterns


def public_get_urls(*, slug: str, update_slug: str | None = None) -> list[str]:
    urls = ["/"]
    for namespace, patterns in (("campaign", campaign_patterns), ("donations", donation_patterns)):
        for pattern in patterns:
            if not isinstance(pattern, URLPattern) or not pattern.name:
                continue
            converters = set(pattern.pattern.converters)
            name = f"{namespace}:{pattern.name}"
            if converters == {"slug"} and not name.endswith(("donate", "subscribe")):
                urls.append(reverse(name, kwargs={"slug": slug}))
            elif converters == {"slug", "update"} and update_slug:
                urls.append(reverse(name, kwargs={"slug": slug, "update": update_slug}))
    return urls
