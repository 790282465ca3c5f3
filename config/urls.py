from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from donations.webhooks import stripe_webhook
from ops.health import healthz_deep

from .health import healthz

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
    from bench.views import floor

    urlpatterns.append(path("bench/floor/", floor, name="bench_floor"))

urlpatterns += i18n_patterns(
    path("", include("donations.urls")),
    path("", include("campaign.urls")),
    prefix_default_language=False,
)
