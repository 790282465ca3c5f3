from django.urls import path

from . import pledge_views, views

app_name = "donations"

urlpatterns = [
    path("donations/<uuid:public_id>/pay/", views.demo_checkout, name="demo_checkout"),
    path("donations/<uuid:public_id>/thanks/", views.thanks, name="thanks"),
    path("donations/<uuid:public_id>/cancelled/", views.cancelled, name="cancelled"),
    path("donations/<uuid:public_id>/retry/", views.checkout_retry, name="retry"),
    path("campaigns/<slug:slug>/donate/", views.donate, name="donate"),
    path(
        "campaigns/<slug:slug>/stages/<int:stage_id>/pledge/",
        pledge_views.pledge_new,
        name="pledge_new",
    ),
    path("pledges/<uuid:public_id>/card/", pledge_views.pledge_demo_setup, name="pledge_demo"),
    path("pledges/<uuid:public_id>/saved/", pledge_views.pledge_saved, name="pledge_saved"),
    path("pledges/<uuid:public_id>/cancel/", pledge_views.pledge_cancel, name="pledge_cancel"),
    path("pledges/<uuid:public_id>/pay/", pledge_views.pledge_pay, name="pledge_pay"),
]
