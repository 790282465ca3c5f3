from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from donations.webhooks import stripe_webhook

from .health import healthz

urlpatterns = [
    path("admin/", admin.site.urls),
    path("stripe/webhook/", stripe_webhook, name="stripe_webhook"),
    path("healthz", healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
]

urlpatterns += i18n_patterns(
    path("", include("donations.urls")),
    path("", include("campaign.urls")),
    prefix_default_language=False,
)
