from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from donations.webhooks import stripe_webhook
from front.urls import campaign_patterns, donation_patterns
from front.views.campaign import totals_json
from ops.health import healthz, healthz_deep

# A database outage raised outside a view still answers 503 with a clear page (config/errors.py).
handler500 = "config.errors.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    path("healthz", healthz, name="healthz"),
    path("healthz/deep", healthz_deep, name="healthz_deep"),
    path("i18n/", include("django.conf.urls.i18n")),
]

if settings.BENCH:
    # The benchmarks' reference page (bench/views.py): only routed when the BENCH setting is on.
    from bench.views import campaign_render, floor

    urlpatterns.append(path("bench/floor/", floor, name="bench_floor"))
    urlpatterns.append(
        path("bench/render/<slug:slug>/", campaign_render, name="bench_campaign_render")
    )

# The campaign's pages first: the campaign page is the most visited, and each pattern tried before
# it costs every visit (no pattern of one list matches an address of the other).
# The same JSON in every language, so it needs no language prefix: resolved here, before the
# language-prefixed patterns (and without LocaleMiddleware's language from the path), it costs what
# the floor costs instead of a fifth more (docs/benchmarks.md). `campaign:totals_json` still names
# it (and `/fr/…/totals.json` still answers).
urlpatterns.append(path("campaigns/<slug:slug>/totals.json", totals_json))

urlpatterns += i18n_patterns(
    path("", include((campaign_patterns, "campaign"))),
    path("", include((donation_patterns, "donations"))),
    prefix_default_language=False,
)
