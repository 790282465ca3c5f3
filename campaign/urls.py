from django.urls import path

from . import views, widget
from .feeds import UpdatesFeed

app_name = "campaign"

urlpatterns = [
    path("", views.home, name="home"),
    path("campaigns/<slug:slug>/", views.detail, name="detail"),
    path("campaigns/<slug:slug>/progress/", views.progress_fragment, name="progress"),
    path("campaigns/<slug:slug>/totals.json", views.totals_json, name="totals_json"),
    path("campaigns/<slug:slug>/supporters/", widget.supporters, name="supporters"),
    path("campaigns/<slug:slug>/embed/", widget.embed, name="embed"),
    path("campaigns/<slug:slug>/badge.svg", widget.badge_svg, name="badge_svg"),
    path("campaigns/<slug:slug>/badge.png", widget.badge_png, name="badge_png"),
    path("campaigns/<slug:slug>/share.png", widget.share_png, name="share_png"),
    path("campaigns/<slug:slug>/updates/", views.update_list, name="updates"),
    path("campaigns/<slug:slug>/updates/feed/", UpdatesFeed(), name="updates_feed"),
    path("campaigns/<slug:slug>/updates/<str:update>/", views.update_detail, name="update_detail"),
    path("campaigns/<slug:slug>/subscribe/", views.subscribe, name="subscribe"),
    path(
        "subscriptions/confirm/<str:token>/",
        views.subscription_confirm,
        name="subscription_confirm",
    ),
    path("subscriptions/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
