"""PostgreSQL unreachable: 503 on /healthz, a clear page elsewhere, 5xx to webhooks (so Stripe
retries), and recovery on its own when the database is back.

The live test runs gunicorn against the test database through a TCP proxy it can cut; the shared
PostgreSQL server itself is never stopped.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import OperationalError

from core.money import cad
from donations import selectors
from donations.models import Channel, Donation, DonationState, StripeEvent
from testing.stripe_fake import sign
from tests.support.factories import CampaignFactory
from tests.support.live import Server, TcpProxy, database_url
from tests.support.webhooks import WEBHOOK_SECRET


def test_view_raising_operational_error_answers_503_page(client, campaign, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")

    monkeypatch.setattr("donations.selectors.campaign_totals", down)

    response = client.get(f"/campaigns/{campaign.slug}/")
    as_json = client.get(f"/campaigns/{campaign.slug}/totals.json")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "cannot reach its database" in response.content.decode()
    assert as_json.status_code == 503 and as_json.json()["error"]


def test_handler500_turns_a_middleware_database_error_into_503(rf):
    from config.errors import server_error

    request = rf.get("/")
    try:
        raise OperationalError("server closed the connection unexpectedly")
    except OperationalError:
        response = server_error(request)
    assert response.status_code == 503

    try:
        raise ValueError("a bug")
    except ValueError:
        response = server_error(request)
    assert response.status_code == 500
    assert "Something went wrong" in response.content.decode()


@pytest.mark.django_db
def test_healthz_reports_database_down(client, monkeypatch):
    monkeypatch.setattr("ops.health._database_ok", lambda: False)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


def _completed(donation: Donation) -> bytes:
    return json.dumps(
        {
            "id": "evt_outage",
            "object": "event",
            "type": "checkout.session.completed",
            "data": {
                "object": {
                    "id": donation.checkout_session_id,
                    "object": "checkout.session",
                    "amount_total": 3000,
                    "currency": "cad",
                    "client_reference_id": str(donation.public_id),
                    "payment_status": "paid",
                    "payment_intent": "pi_outage",
                    "status": "complete",
                }
            },
        }
    ).encode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_database_outage_through_a_cut_proxy_and_recovery():
    from django.db import connection

    campaign = CampaignFactory.create(slug="outage")
    donation = Donation.objects.create(
        campaign=campaign,
        amount=cad(Decimal("30.00")),
        channel=Channel.DEMO,
        checkout_session_id="cs_outage",
    )
    proxy = TcpProxy(
        connection.settings_dict.get("HOST") or "127.0.0.1",
        int(connection.settings_dict.get("PORT") or 5432),
    )
    # Tasks run in the server process (no broker): the webhook is processed as soon as stored.
    server = Server(
        workers=1,
        threads=4,
        DATABASE_URL=database_url(port=proxy.port),
        CELERY_BROKER_URL="",
        DB_CONNECT_TIMEOUT="2",
    )
    body = _completed(donation)

    def webhook() -> int:
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": sign(body, WEBHOOK_SECRET),
        }
        return server.request("POST", "/stripe/webhook/", body, **headers)[0]

    try:
        assert server.get("/healthz")[0] == 200
        assert server.get("/campaigns/outage/")[0] == 200

        proxy.cut()
        health_status, health_body = server.get("/healthz")
        cached_status = server.get("/campaigns/outage/")[0]
        page_status, page_body = server.get(f"/donations/{donation.public_id}/thanks/")
        webhook_down = webhook()

        proxy.restore()
        health_back = server.get("/healthz")[0]
        page_back = server.get("/campaigns/outage/")[0]
        webhook_back = webhook()  # Stripe's retry
        webhook_again = webhook()  # and a duplicate
    finally:
        server.stop()
        proxy.close()

    assert health_status == 503 and json.loads(health_body)["checks"]["database"] is False
    # The campaign page may still come from the page cache; a page needing the database is 503.
    assert cached_status in (200, 503)
    assert page_status == 503 and b"cannot reach its database" in page_body
    assert webhook_down in (500, 502, 503)
    assert (health_back, page_back, webhook_back, webhook_again) == (200, 200, 200, 200)
    donation.refresh_from_db()
    assert donation.state == DonationState.CONFIRMED
    assert StripeEvent.objects.count() == 1
    totals = selectors.campaign_totals(campaign=campaign)
    assert (totals.raised.amount, totals.donation_count) == (Decimal("30.00"), 1)
