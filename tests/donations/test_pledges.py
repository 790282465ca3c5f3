"""Contingent pledges: card saved in setup mode, charged off session only if the stage starts,
each pledge at most once (counted at the Stripe fake), released when the stage does not happen."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone

from campaign.models import Stage, StageState
from core.money import cad
from donations import gateway, selectors, services
from donations import tasks as pledge_tasks
from donations.models import Donation, DonationState, Pledge, PledgeState
from donations.selectors import stages as stage_selectors
from donations.services import pledges, stages
from testing.stripe_fake import StripeFake
from tests.support.factories import StageFactory, confirmed_donation
from tests.support.payments import deliver

pytestmark = pytest.mark.django_db


def pledge_on_fake(
    client: Any,
    stage: Stage,
    fake: StripeFake,
    on_commit: Any,
    *,
    amount: str = "50",
    email: str = "luc@example.ca",
    card: str = "ok",
) -> Pledge:
    """A member pledges on the site, saves a card on Checkout, and Stripe's webhook arrives."""
    response = client.post(
        f"/campaigns/{stage.campaign.slug}/stages/{stage.pk}/pledge/",
        {"amount": amount, "email": email, "display_name": "Luc"},
    )
    assert response.status_code == 303, response.content
    session_id = response["Location"].rsplit("/", 1)[1]
    session = fake.complete_setup(session_id, card=card)
    deliver(client, fake.event("checkout.session.completed", session), on_commit)
    return Pledge.objects.get(checkout_session_id=session_id)


def donation_of(pledge: Pledge) -> Donation:
    assert pledge.donation is not None
    return pledge.donation


def activate(stage: Stage, on_commit: Any) -> None:
    with on_commit(execute=True):
        stages.stage_activate(stage_id=stage.pk)


def succeeded_events(client: Any, fake: StripeFake, on_commit: Any) -> None:
    """Stripe sends payment_intent.succeeded for each successful off-session charge."""
    for intent in list(fake.intents.values()):
        if intent["status"] == "succeeded":
            deliver(client, fake.event("payment_intent.succeeded", intent), on_commit)


def test_pledge_saves_the_card_in_setup_mode_and_charges_nothing(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)

    pledge = pledge_on_fake(client, stage, stripe_fake, django_capture_on_commit_callbacks)

    [customer] = stripe_fake.requests_to("POST", "/v1/customers")
    assert customer["params"]["email"] == "luc@example.ca"
    [setup] = stripe_fake.requests_to("POST", "/v1/checkout/sessions")
    params = setup["params"]
    assert params["mode"] == "setup"
    assert params["currency"] == "cad"
    assert params["customer"] == pledge.customer_id
    assert params["client_reference_id"] == str(pledge.public_id)
    assert params["setup_intent_data"]["metadata"]["pledge"] == str(pledge.public_id)
    assert params["allowed_payment_method_types"] == ["card"]
    assert "payment_method_types" not in params  # removed in 2026-09-30.endive
    assert setup["headers"]["idempotency-key"].startswith(f"pledge-setup-{pledge.public_id}-")
    assert pledge.state == PledgeState.PLEDGED
    assert pledge.amount == cad("50.00")
    assert pledge.payment_method_id.startswith("pm_test_")
    assert stripe_fake.requests_to("POST", "/v1/payment_intents") == []
    assert selectors.campaign_totals(campaign=campaign).raised == cad(0)


def test_confirmation_email_carries_a_signed_cancel_link(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, django_capture_on_commit_callbacks)

    [email] = mail.outbox
    assert email.to == ["luc@example.ca"]
    assert email.subject == "Your pledge of $50.00 toward “Trial preparation”"
    assert "Nothing has been charged." in email.body
    assert isinstance(email, EmailMultiAlternatives)
    html = str(email.alternatives[0][0])
    link = re.search(r"http://testserver(/pledges/[^ \n]+/cancel/\?t=[^\s\"<]+)", str(email.body))
    assert link and link.group(1) in html
    path = link.group(1)

    assert client.get(path).status_code == 200
    tampered = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    assert client.get(tampered).status_code == 403
    assert client.post(tampered, {}).status_code == 403
    assert Pledge.objects.get(pk=pledge.pk).state == PledgeState.PLEDGED

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path.split("?")[0], {"t": path.split("t=")[1]})

    assert response.status_code == 200
    assert "Your pledge is cancelled" in response.content.decode()
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CANCELLED
    assert pledge.detached_at is not None
    [detach] = stripe_fake.requests_to(
        "POST", f"/v1/payment_methods/{pledge.payment_method_id}/detach"
    )
    assert detach
    assert len(mail.outbox) == 1  # no "released" email for a pledger who cancelled


def test_return_page_confirms_the_pledge_before_the_webhook(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)
    response = client.post(
        f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/",
        {"amount": "20", "email": "ana@example.ca"},
    )
    session_id = response["Location"].rsplit("/", 1)[1]
    stripe_fake.complete_setup(session_id)
    pledge = Pledge.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        page = client.get(f"/pledges/{pledge.public_id}/saved/?session_id={session_id}")

    assert page.status_code == 200
    assert "Thank you for your pledge!" in page.content.decode()
    assert Pledge.objects.get().state == PledgeState.PLEDGED
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"amount": "1", "email": "a@example.ca"}, "The smallest pledge is"),
        ({"amount": "abc", "email": "a@example.ca"}, "Enter an amount in dollars"),
        ({"amount": "20"}, "This field is required."),
        ({"amount": "20", "email": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_bad_pledge_input_is_refused_with_a_reason(client, campaign, data, message):
    stage = StageFactory.create(campaign=campaign)

    response = client.post(f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert Pledge.objects.count() == 0


def test_only_a_possible_stage_takes_pledges(client, campaign):
    stage = StageFactory.create(campaign=campaign, state=StageState.FUNDING)

    response = client.post(
        f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/",
        {"amount": "20", "email": "a@example.ca"},
    )

    assert response.status_code == 409
    assert Pledge.objects.count() == 0


def test_activation_charges_off_session_with_mixed_outcomes(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    ok = pledge_on_fake(client, stage, stripe_fake, on_commit, amount="50", email="ok@example.ca")
    declined = pledge_on_fake(
        client, stage, stripe_fake, on_commit, amount="30", email="no@example.ca", card="declined"
    )
    sca = pledge_on_fake(
        client, stage, stripe_fake, on_commit, amount="20", email="sca@example.ca", card="auth"
    )
    mail.outbox.clear()

    activate(stage, on_commit)

    for pledge in (ok, declined, sca):
        pledge.refresh_from_db()
    assert (ok.state, declined.state, sca.state) == (
        PledgeState.CHARGED,
        PledgeState.FAILED,
        PledgeState.NEEDS_ACTION,
    )
    for pledge in (ok, declined, sca):
        [request] = stripe_fake.charge_requests_for(str(pledge.public_id))
        params = request["params"]
        assert params["off_session"] == "true"
        assert params["confirm"] == "true"
        assert params["customer"] == pledge.customer_id
        assert params["payment_method"] == pledge.payment_method_id
        assert params["metadata"]["donation"] == str(donation_of(pledge).public_id)
        assert request["headers"]["idempotency-key"] == f"pledge-charge-{pledge.public_id}"
    assert stripe_fake.charge_requests_for(str(ok.public_id))[0]["params"]["amount"] == "5000"
    assert declined.last_error == "Your card was declined."
    assert sca.payment_intent_id.startswith("pi_test_")
    # Totals follow only what Stripe confirmed by webhook: nothing yet.
    assert selectors.campaign_totals(campaign=campaign).raised == cad(0)
    assert donation_of(ok).state == DonationState.PENDING

    by_subject = {m.to[0]: m for m in mail.outbox}
    assert set(by_subject) == {"no@example.ca", "sca@example.ca"}
    assert "your card was declined" in by_subject["no@example.ca"].subject
    assert "/pledges/" in by_subject["no@example.ca"].body
    assert "please confirm your payment" in by_subject["sca@example.ca"].subject
    assert f"/pledges/{sca.public_id}/pay/?t=" in by_subject["sca@example.ca"].body

    succeeded_events(client, stripe_fake, on_commit)
    succeeded_events(client, stripe_fake, on_commit)  # redelivered: still counted once

    totals = selectors.campaign_totals(campaign=campaign)
    assert totals.raised == cad("50.00")
    assert totals.fees == cad("1.75")  # Stripe's fee on the charge: 2.9 % + 30¢
    assert totals.donor_count == 1
    ok.refresh_from_db()
    assert donation_of(ok).state == DonationState.CONFIRMED
    assert donation_of(ok).payment_intent_id == ok.payment_intent_id


def test_each_pledge_is_charged_at_most_once_under_retries_and_a_crash(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks, monkeypatch
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    made = [
        pledge_on_fake(client, stage, stripe_fake, on_commit, email=f"p{i}@example.ca")
        for i in range(5)
    ]
    crash_on = made[1].pk
    real_record = pledges.pledge_charge_record
    crashed: list[int] = []

    def worker_dies_after_stripe_answered(*, pledge_id: int, outcome: Any) -> Any:
        if pledge_id == crash_on and not crashed:
            crashed.append(pledge_id)
            raise SystemExit("worker killed")  # Stripe charged; we never wrote it down
        return real_record(pledge_id=pledge_id, outcome=outcome)

    monkeypatch.setattr(pledges, "pledge_charge_record", worker_dies_after_stripe_answered)
    real_send = pledge_tasks.charge_pledge.apply_async
    sent: list[int] = []

    def fan_out_dies_after_three(args: tuple[int], **options: Any) -> Any:
        if len(sent) == 3:
            raise SystemExit("worker killed mid-fan-out")
        sent.append(args[0])
        try:
            return real_send(args, **options)
        except SystemExit:
            return None  # the charge task died; its message stays unacknowledged

    monkeypatch.setattr(pledge_tasks.charge_pledge, "apply_async", fan_out_dies_after_three)
    stripe_fake.fail_next(500, "api_error")  # and one Stripe blip on the first charge

    with pytest.raises(SystemExit), on_commit(execute=True):
        stages.stage_activate(stage_id=stage.pk)

    states = {p.pk: p.state for p in Pledge.objects.all()}
    assert states[made[0].pk] == PledgeState.CHARGING  # the 500: left for a retry
    assert states[made[1].pk] == PledgeState.CHARGING  # crashed after Stripe charged
    assert states[made[2].pk] == PledgeState.CHARGED
    assert states[made[3].pk] == states[made[4].pk] == PledgeState.PLEDGED  # never enqueued

    monkeypatch.setattr(pledge_tasks.charge_pledge, "apply_async", real_send)
    # The broker redelivers the fan-out (acks_late), twice for good measure, and the sweep runs.
    pledge_tasks.charge_stage_pledges(stage.pk)
    pledge_tasks.charge_stage_pledges(stage.pk)
    monkeypatch.setattr(pledge_tasks, "STUCK_AFTER", timedelta(0))
    pledge_tasks.pledges_sweep()
    for pledge in made:  # and every charge task is delivered once more
        pledge_tasks.charge_pledge(pledge.pk)

    assert set(Pledge.objects.values_list("state", flat=True)) == {PledgeState.CHARGED}
    for pledge in made:
        ref = str(pledge.public_id)
        assert len(stripe_fake.intents_for_pledge(ref)) == 1, "charged more than once"
        requests = stripe_fake.charge_requests_for(ref)
        keys = {r["headers"]["idempotency-key"] for r in requests}
        assert keys == {f"pledge-charge-{ref}"}
    # Only the crashed pledge's request was repeated (and answered from Stripe's idempotency store),
    # and the one that met a 500.
    assert len(stripe_fake.charge_requests_for(str(made[1].public_id))) == 2
    assert len(stripe_fake.charge_requests_for(str(made[0].public_id))) == 2
    for pledge in made[2:]:
        assert len(stripe_fake.charge_requests_for(str(pledge.public_id))) == 1
    assert len(stripe_fake.charges) == 5

    succeeded_events(client, stripe_fake, on_commit)
    assert selectors.campaign_totals(campaign=campaign).raised == cad("250.00")


def test_needs_action_pledger_finishes_on_checkout_and_counts_once(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit, amount="40", card="auth")
    activate(stage, on_commit)
    link = re.search(r"http://testserver(/pledges/\S+/pay/\?t=\S+)", str(mail.outbox[-1].body))
    assert link
    path = link.group(1)

    page = client.get(path)
    assert page.status_code == 200
    assert "Your bank asks you to confirm the payment yourself." in page.content.decode()
    response = client.post(path.split("?")[0], {"t": path.split("t=")[1]})

    assert response.status_code == 303
    pledge.refresh_from_db()
    [checkout] = [
        r for r in stripe_fake.requests_to("POST", "/v1/checkout/sessions")
        if r["params"].get("mode") == "payment"
    ]  # fmt: skip
    assert checkout["params"]["client_reference_id"] == str(donation_of(pledge).public_id)
    assert checkout["params"]["line_items"][0]["price_data"]["unit_amount"] == "4000"
    # The unfinished off-session attempt is cancelled first, so only one payment can succeed.
    assert stripe_fake.requests_to("POST", f"/v1/payment_intents/{pledge.payment_intent_id}/cancel")

    session_id = response["Location"].rsplit("/", 1)[1]
    session = stripe_fake.complete(session_id)
    deliver(client, stripe_fake.event("checkout.session.completed", session), on_commit)
    deliver(client, stripe_fake.event("checkout.session.completed", session), on_commit)

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGED
    assert selectors.campaign_totals(campaign=campaign).raised == cad("40.00")
    assert len(stripe_fake.intents_for_pledge(str(pledge.public_id))) == 1


def test_all_or_nothing_deadline_missed_charges_nothing_and_tells_everyone(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(
        campaign=campaign,
        all_or_nothing=True,
        pledge_target=cad("500"),
        pledge_deadline=timezone.now() + timedelta(days=3),
    )
    made = [
        pledge_on_fake(
            client, stage, stripe_fake, on_commit, amount="100", email=f"a{i}@example.ca"
        )
        for i in range(2)
    ]
    with pytest.raises(pledges.PledgeError, match="All or nothing"):
        stages.stage_activate(stage_id=stage.pk)
    mail.outbox.clear()
    Stage.objects.filter(pk=stage.pk).update(pledge_deadline=timezone.now() - timedelta(minutes=1))

    with on_commit(execute=True):
        result = pledge_tasks.pledges_sweep()

    assert result["released"] == 2
    assert stripe_fake.requests_to("POST", "/v1/payment_intents") == []
    for pledge in made:
        pledge.refresh_from_db()
        assert pledge.state == PledgeState.RELEASED
        assert pledge.detached_at is not None
    assert sorted(m.to[0] for m in mail.outbox) == ["a0@example.ca", "a1@example.ca"]
    assert "did not reach $500.00 by the deadline" in mail.outbox[0].body
    assert "nothing was charged" in mail.outbox[0].body
    with pytest.raises(pledges.PledgeError):
        stages.stage_activate(stage_id=stage.pk)
    with on_commit(execute=True):
        pledge_tasks.pledges_sweep()  # again: nobody is told twice
    assert len(mail.outbox) == 2
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "The pledge target was not reached by the deadline: no card was charged." in page


def test_all_or_nothing_target_met_keeps_pledges_and_activates(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(
        campaign=campaign,
        all_or_nothing=True,
        pledge_target=cad("100"),
        pledge_deadline=timezone.now() + timedelta(days=3),
    )
    pledge_on_fake(client, stage, stripe_fake, on_commit, amount="100")
    Stage.objects.filter(pk=stage.pk).update(pledge_deadline=timezone.now() - timedelta(minutes=1))

    with on_commit(execute=True):
        pledge_tasks.pledges_sweep()
    activate(stage, on_commit)

    assert Pledge.objects.get().state == PledgeState.CHARGED


def test_stage_cancelled_releases_pledges_detaches_cards_and_tells_pledgers(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    made = [
        pledge_on_fake(client, stage, stripe_fake, on_commit, email=f"c{i}@example.ca")
        for i in range(3)
    ]
    mail.outbox.clear()

    with on_commit(execute=True):
        released = stages.stage_cancel(stage_id=stage.pk)

    assert sorted(released) == sorted(p.pk for p in made)
    for pledge in made:
        pledge.refresh_from_db()
        assert pledge.state == PledgeState.RELEASED
        assert stripe_fake.requests_to(
            "POST", f"/v1/payment_methods/{pledge.payment_method_id}/detach"
        )
        assert stripe_fake.payment_methods[pledge.payment_method_id]["customer"] is None
    assert len(mail.outbox) == 3
    assert "will not go ahead" in mail.outbox[0].body
    assert stripe_fake.requests_to("POST", "/v1/payment_intents") == []
    with pytest.raises(pledges.PledgeError):
        stages.stage_activate(stage_id=stage.pk)
    page = client.get(f"/campaigns/{campaign.slug}/").content.decode()
    assert "This stage will not happen" in page


def test_cancel_link_after_the_stage_started_changes_nothing(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit)
    token = pledges.pledge_token(pledge=pledge, salt=pledges.CANCEL_SALT)
    activate(stage, on_commit)

    response = client.post(f"/pledges/{pledge.public_id}/cancel/", {"t": token})

    assert response.status_code == 409
    assert "can no longer be cancelled" in response.content.decode()
    assert Pledge.objects.get().state == PledgeState.CHARGED


def test_admin_activation_needs_confirmation_and_shows_outcomes(
    client, admin_client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge_on_fake(client, stage, stripe_fake, on_commit, email="x@example.ca")
    pledge_on_fake(client, stage, stripe_fake, on_commit, email="y@example.ca", card="declined")
    url = "/admin/campaign/stage/"
    data = {"action": "activate_stages", "_selected_action": [stage.pk]}

    asking = admin_client.post(url, data)

    assert asking.status_code == 200
    assert "Every pledge of these stages will be charged now" in asking.content.decode()
    assert Stage.objects.get().state == StageState.POSSIBLE
    assert stripe_fake.requests_to("POST", "/v1/payment_intents") == []

    with on_commit(execute=True):
        done = admin_client.post(url, {**data, "confirm": "yes"})

    assert done.status_code == 302
    assert Stage.objects.get().state == StageState.ACTIVE
    page = admin_client.get(f"/admin/campaign/stage/{stage.pk}/change/").content.decode()
    assert re.search(r"<th>charged</th><td>1</td><td>\$50.00</td>", page)
    assert re.search(r"<th>failed</th><td>1</td><td>\$50.00</td>", page)
    assert re.search(r"<th>needs action</th><td>0</td>", page)
    assert re.search(r"<th>cancelled by the pledger</th><td>0</td>", page)


def test_demo_gateway_pledge_and_activation_move_the_totals(
    client, campaign, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    response = client.post(
        f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/",
        {"amount": "25", "email": "demo@example.ca"},
    )
    pledge = Pledge.objects.get()
    assert response["Location"] == f"/pledges/{pledge.public_id}/card/"
    assert "Demo — no money moves." in client.get(response["Location"]).content.decode()

    with on_commit(execute=True):
        saved = client.post(response["Location"], {"action": "save"})
    assert saved.status_code == 303
    assert Pledge.objects.get().state == PledgeState.PLEDGED

    activate(stage, on_commit)

    assert Pledge.objects.get().state == PledgeState.CHARGED
    assert selectors.campaign_totals(campaign=campaign).raised == cad("25.00")


def test_admin_pages_for_stages_pledges_and_closures_render(
    client, admin_client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, django_capture_on_commit_callbacks)

    for url in (
        "/admin/campaign/stage/",
        f"/admin/campaign/stage/{stage.pk}/change/",
        "/admin/donations/pledge/",
        f"/admin/donations/pledge/{pledge.pk}/change/",
        "/admin/donations/caseclosure/",
        "/admin/donations/caseclosure/add/",
        f"/admin/campaign/campaign/{campaign.pk}/change/",
    ):
        response = admin_client.get(url)
        assert response.status_code == 200, url
    assert "pledged: 1" in admin_client.get("/admin/campaign/stage/").content.decode()
    bad = admin_client.post(
        "/admin/donations/caseclosure/add/", {"campaign": campaign.pk, "recovered": "1e9"}
    )
    assert bad.status_code == 400


def test_admin_cannot_activate_or_cancel_by_editing_the_state(
    client, admin_client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    stage = StageFactory.create(campaign=campaign)
    pledge_on_fake(client, stage, stripe_fake, django_capture_on_commit_callbacks)
    url = f"/admin/campaign/stage/{stage.pk}/change/"
    form = {
        "position": "2",
        "title": "Trial preparation",
        "description": "",
        "state": "active",
        "estimated_hours": "40",
        "flat_amount_0": "0.00",
        "flat_amount_1": "CAD",
        "spent_0": "0.00",
        "spent_1": "CAD",
        "pledge_target_0": "0.00",
        "pledge_target_1": "CAD",
    }

    response = admin_client.post(url, form)

    assert response.status_code == 200
    assert "Use the “Activate” or “Cancel” action" in response.content.decode()
    assert Stage.objects.get().state == StageState.POSSIBLE
    assert stripe_fake.requests_to("POST", "/v1/payment_intents") == []
    # Marking a finished stage done, with what it cost, is an ordinary edit.
    Stage.objects.filter(pk=stage.pk).update(state=StageState.ACTIVE)
    done = admin_client.post(url, {**form, "state": "done", "spent_0": "9500.00"})
    assert done.status_code == 302
    assert Stage.objects.get().spent == cad("9500.00")


def test_a_charge_cut_short_is_still_recorded_after_the_stage_is_cancelled(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks, monkeypatch
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    pledge = pledge_on_fake(client, stage, stripe_fake, on_commit)

    def dies(**kwargs: Any) -> Any:
        raise SystemExit("worker killed after Stripe charged")

    monkeypatch.setattr(pledges, "pledge_charge_record", dies)
    with pytest.raises(SystemExit), on_commit(execute=True):
        stages.stage_activate(stage_id=stage.pk)
    monkeypatch.undo()
    with on_commit(execute=True):
        stages.stage_cancel(stage_id=stage.pk)  # the case settles meanwhile
    assert Pledge.objects.get().state == PledgeState.CHARGING  # money may have moved: kept

    monkeypatch.setattr(pledge_tasks, "STUCK_AFTER", timedelta(0))
    with on_commit(execute=True):
        pledge_tasks.pledges_sweep()

    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGED
    assert len(stripe_fake.intents_for_pledge(str(pledge.public_id))) == 1
    succeeded_events(client, stripe_fake, on_commit)
    assert selectors.campaign_totals(campaign=campaign).raised == cad("50.00")


def test_a_card_saved_after_the_stage_was_cancelled_is_detached(
    client, campaign, stripe_fake, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign)
    response = client.post(
        f"/campaigns/{campaign.slug}/stages/{stage.pk}/pledge/",
        {"amount": "20", "email": "late@example.ca"},
    )
    session_id = response["Location"].rsplit("/", 1)[1]
    with on_commit(execute=True):
        stages.stage_cancel(stage_id=stage.pk)  # while the member is still on Checkout

    session = stripe_fake.complete_setup(session_id)
    deliver(client, stripe_fake.event("checkout.session.completed", session), on_commit)

    pledge = Pledge.objects.get()
    assert pledge.state == PledgeState.RELEASED
    assert pledge.detached_at is not None
    assert stripe_fake.payment_methods[pledge.payment_method_id]["customer"] is None
    assert stripe_fake.requests_to("POST", "/v1/payment_intents") == []


def _demo_pledge(stage: Stage, on_commit: Any, amount: str = "50") -> Pledge:
    with on_commit(execute=True):
        pledge = pledges.pledge_start(stage=stage, amount=cad(amount), email="p@example.org")
        pledges.pledge_setup_complete(
            result=gateway.demo_setup_result(pledge_ref=str(pledge.public_id))
        )
    return pledge


def test_a_refunded_pledge_no_longer_funds_its_stage(campaign, django_capture_on_commit_callbacks):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign, estimated_hours=None, flat_amount=cad("1000"))
    pledge = _demo_pledge(stage, on_commit)
    activate(stage, on_commit)
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.CHARGED

    with on_commit(execute=True):
        services.refund_request(donation=donation_of(pledge), amount=cad("20"), reason="asked")

    totals = selectors.campaign_totals(campaign=campaign)
    rows = stage_selectors.stage_rows(campaign=campaign, totals=totals)
    assert totals.raised == cad("30.00")
    assert [row.raised for row in rows] == [cad("30.00")]  # the $50 less the $20 refunded
    assert sum(row.raised.amount for row in rows) == totals.raised.amount


def test_stage_percent_rounds_down_never_showing_a_full_bar_early(campaign):
    stage = StageFactory.create(
        campaign=campaign, estimated_hours=None, flat_amount=cad("2000"), state="funding"
    )
    confirmed_donation(campaign, "1999.00")  # 99.95 %: half-even would show 100.0

    totals = selectors.campaign_totals(campaign=campaign)
    (row,) = stage_selectors.stage_rows(campaign=campaign, totals=totals)

    assert row.stage == stage
    assert row.percent == Decimal("99.9")


def test_each_pledge_email_kind_goes_out_once_each(
    campaign, mailoutbox, monkeypatch, django_capture_on_commit_callbacks
):
    on_commit = django_capture_on_commit_callbacks
    stage = StageFactory.create(campaign=campaign, estimated_hours=None, flat_amount=cad("1000"))
    pledge = _demo_pledge(stage, on_commit)
    monkeypatch.setattr(
        gateway,
        "payment_intent_off_session",
        lambda **kw: gateway.OffSessionCharge(
            status="authentication_required", payment_intent_id="pi_x", message="3DS"
        ),
    )
    activate(stage, on_commit)
    pledge.refresh_from_db()
    assert pledge.state == PledgeState.NEEDS_ACTION

    with on_commit(execute=True):
        stages.stage_cancel(stage_id=stage.pk)
    # Sending again (a retried task) sends nothing more.
    assert not pledges.pledge_email_once(pledge_id=pledge.pk, kind="released", send=lambda *a: None)

    pledge.refresh_from_db()
    assert len(mailoutbox) == 3  # confirmed, action needed, released
    assert pledge.confirmation_sent_at and pledge.outcome_sent_at and pledge.released_sent_at
