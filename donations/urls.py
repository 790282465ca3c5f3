from django.urls import path

from . import views

app_name = "donations"

urlpatterns = [
    path("donations/<uuid:public_id>/pay/", views.demo_checkout, name="demo_checkout"),
    path("donations/<uuid:public_id>/thanks/", views.thanks, name="thanks"),
    path("donations/<uuid:public_id>/cancelled/", views.cancelled, name="cancelled"),
    path("campaigns/<slug:slug>/donate/", views.donate, name="donate"),
]
