"""Monthly gifts through the form, the real SDK and the strict Stripe fake: each paid invoice counts
once, whatever the order and number of Stripe's events; a failed renewal counts nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.money import cad
from donations import selectors
from donations.models import (
    DailyRollup,
    Donation,
    DonationState,
    EventStatus,
    MonthlyGift,
    MonthlyRenewalFailure,
    MonthlyStatus,
    StripeEvent,
)
from tests.support.monthly import start_monthly, subscribed
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


def totals(campaign):
    t = selectors.campaign_totals(campaign=campaign)
    return t.raised, t.donation_count, t.donor_count


@pytest.fixture
def run(client, django_capture_on_commit_callbacks):
    """Deliver one signed event to the webhook and run what it queued (the task, in-process)."""

    def send(event):
        response = deliver(client, event, django_capture_on_commit_callbacks)
        assert response.status_code == 200, response.content
        return StripeEvent.objects.get(stripe_id=event["id"])

    return send


# --- The Checkout request ------------------------------------------------------------------


def test_monthly_form_opens_checkout_in_subscription_mode_with_an_inline_monthly_price(
    client, campaign, stripe_fake
):
    gift, session_id = start_monthly(
        client, campaign, amount="20", until_covered="on", cover_fees="on"
    )

    [request] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    params = request["params"]
    assert params["mode"] == "subscription"
    price = params["line_items"][0]["price_data"]
    assert price["recurring"] == {"interval": "month"}
    assert price["currency"] == "cad"
    assert price["unit_amount"] == "2091"  # (20 + 0.30) / (1 - 0.029), in integer cents
    assert price["product_data"]["name"] == campaign.title_local
    metadata = params["subscription_data"]["metadata"]
    assert metadata == params["metadata"]
    assert metadata["monthly"] == str(gift.public_id)
    assert metadata["campaign"] == campaign.slug
    assert (metadata["until_covered"], metadata["covers_fees"]) == ("yes", "yes")
    assert request["headers"]["idempotency-key"].startswith(f"monthly-checkout-{gift.public_id}-")
    assert "payment_intent_data" not in params and "submit_type" not in params
    assert (gift.status, gift.amount, gift.gift, gift.until_covered) == (
        MonthlyStatus.PENDING,
        cad("20.91"),
        cad("20.00"),
        True,
    )
    assert session_id == gift.checkout_session_id
    assert totals(campaign) == (cad(0), 0, 0)


def test_a_once_gift_is_still_the_default(client, campaign, stripe_fake, donor):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", donor)

    assert response.status_code == 303
    [request] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    assert request["params"]["mode"] == "payment"
    assert MonthlyGift.objects.count() == 0


def test_monthly_needs_an_email_and_says_so(client, campaign, stripe_fake):
    response = client.post(
        f"/campaigns/{campaign.slug}/donate/",
        {"amount": "20", "frequency": "monthly", "shown_as": "anonymous"},
    )

    assert response.status_code == 400
    assert "A monthly gift needs your email" in response.content.decode()
    assert stripe_fake.requests_to("POST", "/v1/checkout/sessions") == []


def test_an_unknown_frequency_is_a_form_error(client, campaign, stripe_fake, donor):
    response = client.post(f"/campaigns/{campaign.slug}/donate/", {**donor, "frequency": "daily"})

    assert response.status_code == 400
    assert MonthlyGift.objects.count() == 0 and Donation.objects.count() == 0


# --- Counting ------------------------------------------------------------------------------


def test_first_month_and_three_renewals_count_once_each(client, campaign, stripe_fake, run):
    gift, session_id = start_monthly(client, campaign, amount="20")

    completion = run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()
    subscription_id = gift.subscription_id
    first_invoice = stripe_fake.sessions[session_id]["invoice"]
    run(stripe_fake.event("invoice.paid", stripe_fake.invoice_object(first_invoice)))
    run(stripe_fake.event("invoice.payment_succeeded", stripe_fake.invoice_object(first_invoice)))
    for _ in range(3):
        renewal = stripe_fake.renew(subscription_id)
        run(stripe_fake.event("invoice.paid", renewal))
        run(stripe_fake.event("invoice.payment_succeeded", renewal))
        run(stripe_fake.event("invoice.paid", renewal))  # Stripe redelivers

    assert completion.status == EventStatus.PROCESSED
    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ACTIVE
    assert gift.customer_id.startswith("cus_")
    assert totals(campaign) == (cad("80.00"), 4, 1)
    renewals = list(gift.donations.order_by("pk"))
    assert [d.state for d in renewals] == [DonationState.CONFIRMED] * 4
    assert len({d.invoice_id for d in renewals}) == 4
    # Each is a payment like a one-off gift's: its intent and charge (refunds, disputes) and fee.
    assert all(d.payment_intent_id.startswith("pi_") for d in renewals)
    assert [d.fee for d in renewals] == [cad("0.88")] * 4
    assert gift.current_period_end is not None
    # The wall shows each month as the supporter chose; the message only once.
    wall = selectors.donor_wall(campaign=campaign).object_list
    assert [(g.name, g.amount) for g in wall] == [("Marie", cad("20.00"))] * 4
    assert DailyRollup.objects.get(campaign=campaign).donation_count == 4
    assert selectors.donations_for_export(campaign=campaign).count() == 4


def test_invoice_paid_before_checkout_completed_counts_once(client, campaign, stripe_fake, run):
    gift, session_id = start_monthly(client, campaign, amount="15")
    session = stripe_fake.complete_subscription(session_id)
    invoice = stripe_fake.invoice_object(session["invoice"])
    subscription = stripe_fake.subscription(session["subscription"])

    # Out of order: the subscription and its paid invoice before the Checkout completion.
    run(stripe_fake.event("customer.subscription.created", subscription))
    run(stripe_fake.event("invoice.payment_succeeded", invoice))
    run(stripe_fake.event("invoice.paid", invoice))
    run(stripe_fake.event("checkout.session.completed", session))
    run(stripe_fake.event("customer.subscription.updated", subscription))

    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ACTIVE
    assert gift.subscription_id == session["subscription"]
    assert totals(campaign) == (cad("15.00"), 1, 1)
    assert StripeEvent.objects.filter(status=EventStatus.PROCESSED).count() == 5


def test_the_success_page_counts_the_first_month_before_any_webhook(
    client, campaign, stripe_fake, run
):
    gift, session_id = start_monthly(client, campaign, amount="30")
    session = stripe_fake.complete_subscription(session_id)

    page = client.get(f"/monthly/{gift.public_id}/thanks/?session_id={session_id}")

    assert page.status_code == 200
    assert "Your monthly gift of $30.00 is active." in page.content.decode()
    assert totals(campaign) == (cad("30.00"), 1, 1)
    run(stripe_fake.event("invoice.paid", stripe_fake.invoice_object(session["invoice"])))
    assert totals(campaign) == (cad("30.00"), 1, 1)


def test_failed_renewal_counts_nothing_and_tells_the_supporter_once_in_french(
    client, campaign, stripe_fake, run, mailoutbox
):
    gift, session_id = start_monthly(client, campaign, amount="20", prefix="/fr")
    assert gift.language == "fr"
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()
    mailoutbox.clear()  # the first month's receipt

    failed = stripe_fake.fail_renewal(gift.subscription_id)
    run(stripe_fake.event("invoice.payment_failed", failed))
    run(stripe_fake.event("invoice.payment_failed", failed))  # Stripe redelivers

    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.PAST_DUE
    assert totals(campaign) == (cad("20.00"), 1, 1)
    assert MonthlyRenewalFailure.objects.get().invoice_id == failed["id"]
    [mail] = mailoutbox
    assert mail.to == ["marie@example.ca"]
    assert (
        mail.subject == "Votre don mensuel n’a pas pu être prélevé\u00a0: mettez votre carte à jour"
    )
    assert "les 20,00\u00a0$ de ce mois" in mail.body
    assert "/fr/my-gifts/" in mail.body
    assert failed["hosted_invoice_url"] in mail.body
    assert failed["hosted_invoice_url"] in mail.alternatives[0][0]

    # Stripe's own retry pays it: counted then, and the gift is active again.
    retry = stripe_fake.retry_invoice(failed["id"], paid=True)
    run(stripe_fake.event("invoice.paid", retry))
    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ACTIVE
    assert totals(campaign) == (cad("40.00"), 2, 1)
    # A late failure of the invoice already paid changes nothing.
    run(stripe_fake.event("invoice.payment_failed", failed))
    assert totals(campaign) == (cad("40.00"), 2, 1)
    assert MonthlyGift.objects.get(pk=gift.pk).status == MonthlyStatus.ACTIVE


def test_subscription_deleted_ends_the_gift_and_a_late_update_does_not_revive_it(
    client, campaign, stripe_fake, run
):
    gift, session_id = start_monthly(client, campaign)
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()
    before = stripe_fake.subscription(gift.subscription_id)

    run(
        stripe_fake.event(
            "customer.subscription.deleted", stripe_fake.end_period(gift.subscription_id)
        )
    )
    run(stripe_fake.event("customer.subscription.updated", before))  # an older snapshot, late

    gift.refresh_from_db()
    assert gift.status == MonthlyStatus.ENDED
    assert gift.ended_at is not None
    assert totals(campaign) == (cad("20.00"), 1, 1)


def test_a_renewal_is_refunded_like_a_one_off_gift(client, campaign, stripe_fake, run):
    gift, session_id = start_monthly(client, campaign, amount="25")
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()
    run(stripe_fake.event("invoice.paid", stripe_fake.renew(gift.subscription_id)))
    renewal = gift.donations.order_by("pk")[1]
    charge = next(
        c for c in stripe_fake.charges.values() if c["payment_intent"] == renewal.payment_intent_id
    )

    run(stripe_fake.event("charge.refunded", stripe_fake.refund(charge["id"])))

    renewal.refresh_from_db()
    assert renewal.state == DonationState.REFUNDED
    t = selectors.campaign_totals(campaign=campaign)
    assert (t.gross, t.refunded, t.raised, t.donation_count) == (
        cad("50.00"),
        cad("25.00"),
        cad("25.00"),
        1,
    )


def test_totals_json_gains_the_monthly_supporters_and_amount(client, campaign, stripe_fake, run):
    for email, amount in (("a@example.org", "20"), ("b@example.org", "12.50")):
        gift, session_id = start_monthly(client, campaign, amount=amount, email=email)
        run(subscribed(stripe_fake, session_id))
    start_monthly(client, campaign, amount="99", email="never@example.org")  # never paid

    payload = client.get(f"/campaigns/{campaign.slug}/totals.json").json()

    assert payload["monthly_supporters"] == 2
    assert payload["monthly_amount"] == "32.50"
    assert payload["raised"] == "32.50"


def test_card_update_session_then_its_card_pays_the_renewals(client, campaign, stripe_fake, run):
    from donations import services

    gift, session_id = start_monthly(client, campaign)
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()

    redirect = services.monthly_card_update_session(
        gift_id=gift.pk, success_url="https://fund.test/ok", cancel_url="https://fund.test/no"
    )
    [request] = [
        r
        for r in stripe_fake.requests_to("POST", "/v1/checkout/sessions")
        if r["params"]["mode"] == "setup"
    ]
    assert request["params"]["customer"] == gift.customer_id
    assert request["params"]["setup_intent_data"]["metadata"]["monthly"] == str(gift.public_id)
    session = stripe_fake.complete_setup(redirect.session_id)
    run(stripe_fake.event("checkout.session.completed", session))

    subscription = stripe_fake.subscription(gift.subscription_id)
    assert subscription["default_payment_method"].startswith("pm_")
    assert totals(campaign) == (cad("20.00"), 1, 1)


def test_amount_change_updates_the_item_price_without_proration(client, campaign, stripe_fake, run):
    from donations import services

    gift, session_id = start_monthly(client, campaign, amount="20")
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()

    services.monthly_amount_change(gift_id=gift.pk, amount=cad("35"))
    services.monthly_amount_change(gift_id=gift.pk, amount=cad("20"))
    services.monthly_amount_change(gift_id=gift.pk, amount=cad("35"))

    updates = stripe_fake.subscription_updates(gift.subscription_id)
    assert [u["items"][0]["price_data"]["unit_amount"] for u in updates] == ["3500", "2000", "3500"]
    assert {u["proration_behavior"] for u in updates} == {"none"}
    gift.refresh_from_db()
    assert gift.amount == cad("35.00")
    run(stripe_fake.event("invoice.paid", stripe_fake.renew(gift.subscription_id)))
    assert totals(campaign) == (cad("55.00"), 2, 1)
    with pytest.raises(services.MonthlyRefused):
        services.monthly_amount_change(gift_id=gift.pk, amount=cad(Decimal("1.00")))


def test_donor_cancel_asks_stripe_once_and_sends_one_email(
    client, campaign, stripe_fake, run, mailoutbox, django_capture_on_commit_callbacks
):
    from donations import services

    gift, session_id = start_monthly(client, campaign)
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.monthly_cancel(gift_id=gift.pk)
    with django_capture_on_commit_callbacks(execute=True):
        services.monthly_cancel(gift_id=gift.pk)

    assert stripe_fake.subscription_updates(gift.subscription_id) == [
        {"cancel_at_period_end": "true"}
    ]
    gift.refresh_from_db()
    assert (gift.status, gift.end_reason) == (MonthlyStatus.ENDING, "donor")
    [mail] = mailoutbox
    assert mail.subject == "Your monthly gift is cancelled"
    assert "Nothing more will be charged" in mail.body
    assert selectors.monthly_gifts_for_email("MARIE@example.ca").get() == gift


def test_reconciliation_counts_renewals_whose_webhooks_were_lost(
    client, campaign, stripe_fake, run
):
    from donations.services import recovery

    gift, session_id = start_monthly(client, campaign, amount="20")
    run(subscribed(stripe_fake, session_id))
    gift.refresh_from_db()
    # Two renewals Stripe reported while the site was down: never delivered.
    for _ in range(2):
        invoice = stripe_fake.renew(gift.subscription_id)
        stripe_fake.event("invoice.paid", invoice)
        stripe_fake.event("invoice.payment_succeeded", invoice)
    stripe_fake.event("invoice.payment_failed", stripe_fake.fail_renewal(gift.subscription_id))

    report = recovery.reconcile()
    again = recovery.reconcile()

    assert report.events_recovered == 5 and again.events_recovered == 0
    assert totals(campaign) == (cad("60.00"), 3, 1)
    assert MonthlyGift.objects.get(pk=gift.pk).status == MonthlyStatus.PAST_DUE
