from django.urls import path

from . import views

app_name = "campaign"

urlpatterns = [
    path("", views.home, name="home"),
    path("campaigns/<slug:slug>/", views.detail, name="detail"),
    path("campaigns/<slug:slug>/progress/", views.progress_fragment, name="progress"),
    path("campaigns/<slug:slug>/totals.json", views.totals_json, name="totals_json"),
]
