"""Every address a visitor opens. URL names keep their two namespaces, `campaign:` (the campaign,
its updates, widgets and subscriptions) and `donations:` (giving and pledging)."""

from django.urls import path

from front.feeds import UpdatesFeed
from front.views import campaign, donations, monthly, my_gifts, pledges, widget

campaign_patterns = [
    path("", campaign.home, name="home"),
    path("campaigns/<slug:slug>/", campaign.detail, name="detail"),
    path("campaigns/<slug:slug>/progress/", campaign.progress_fragment, name="progress"),
    path("campaigns/<slug:slug>/totals.json", campaign.totals_json, name="totals_json"),
    path("campaigns/<slug:slug>/supporters/", widget.supporters, name="supporters"),
    path("campaigns/<slug:slug>/embed/", widget.embed, name="embed"),
    path("campaigns/<slug:slug>/badge.svg", widget.badge_svg, name="badge_svg"),
    path("campaigns/<slug:slug>/badge.png", widget.badge_png, name="badge_png"),
    path("campaigns/<slug:slug>/share.png", widget.share_png, name="share_png"),
    path("campaigns/<slug:slug>/updates/", campaign.update_list, name="updates"),
    path("campaigns/<slug:slug>/updates/feed/", UpdatesFeed(), name="updates_feed"),
    path(
        "campaigns/<slug:slug>/updates/<str:update>/", campaign.update_detail, name="update_detail"
    ),
    path("campaigns/<slug:slug>/subscribe/", campaign.subscribe, name="subscribe"),
    path(
        "subscriptions/confirm/<str:token>/",
        campaign.subscription_confirm,
        name="subscription_confirm",
    ),
    path("subscriptions/unsubscribe/<str:token>/", campaign.unsubscribe, name="unsubscribe"),
]

donation_patterns = [
    path("donations/<uuid:public_id>/pay/", donations.demo_checkout, name="demo_checkout"),
    path("donations/<uuid:public_id>/thanks/", donations.thanks, name="thanks"),
    path("donations/<uuid:public_id>/cancelled/", donations.cancelled, name="cancelled"),
    path("donations/<uuid:public_id>/retry/", donations.checkout_retry, name="retry"),
    path("campaigns/<slug:slug>/donate/", donations.donate, name="donate"),
    path("monthly/<uuid:public_id>/thanks/", monthly.monthly_thanks, name="monthly_thanks"),
    path("monthly/<uuid:public_id>/pay/", monthly.monthly_demo, name="monthly_demo"),
    path("monthly/<uuid:public_id>/card/", monthly.monthly_demo_card, name="monthly_demo_card"),
    path(
        "campaigns/<slug:slug>/stages/<int:stage_id>/pledge/",
        pledges.pledge_new,
        name="pledge_new",
    ),
    path("pledges/<uuid:public_id>/card/", pledges.pledge_demo_setup, name="pledge_demo"),
    path("pledges/<uuid:public_id>/saved/", pledges.pledge_saved, name="pledge_saved"),
    path("pledges/<uuid:public_id>/cancel/", pledges.pledge_cancel, name="pledge_cancel"),
    path("pledges/<uuid:public_id>/pay/", pledges.pledge_pay, name="pledge_pay"),
    # The donor's own page ("Manage my gifts"): front/views/my_gifts.py.
    path("my-gifts/", my_gifts.start, name="my_gifts"),
    path("my-gifts/open/<str:token>/", my_gifts.open_link, name="my_gifts_open"),
    path("my-gifts/gifts/", my_gifts.page, name="my_gifts_page"),
    path("my-gifts/gifts/<uuid:ref>/display/", my_gifts.display, name="my_gifts_display"),
    path("my-gifts/gifts/<uuid:ref>/receipt/", my_gifts.receipt, name="my_gifts_receipt"),
    path(
        "my-gifts/pledges/<uuid:ref>/cancel/", my_gifts.pledge_cancel, name="my_gifts_pledge_cancel"
    ),
    path(
        "my-gifts/monthly/<uuid:ref>/cancel/",
        my_gifts.monthly_cancel,
        name="my_gifts_monthly_cancel",
    ),
    path(
        "my-gifts/monthly/<uuid:ref>/amount/",
        my_gifts.monthly_amount,
        name="my_gifts_monthly_amount",
    ),
    path("my-gifts/monthly/<uuid:ref>/card/", my_gifts.monthly_card, name="my_gifts_monthly_card"),
    path(
        "my-gifts/monthly/<uuid:ref>/display/",
        my_gifts.monthly_display,
        name="my_gifts_monthly_display",
    ),
    path("my-gifts/data/", my_gifts.data_export, name="my_gifts_export"),
    path("my-gifts/erasure/", my_gifts.erasure, name="my_gifts_erasure"),
    path("my-gifts/sign-out/", my_gifts.sign_out, name="my_gifts_sign_out"),
]
