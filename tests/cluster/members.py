"""What members and Stripe do from the outside, over HTTP through the balancer (or one web host)."""

from __future__ import annotations

import re
import time
from urllib.parse import urlencode

from tests.cluster.cluster import Client, Cluster

CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


# What lb adds that the app needs when a test talks straight to one web host: TLS ended before
# it. The client address is then the connecting one (only lb's X-Forwarded-For is believed).
DIRECT = {"X-Forwarded-Proto": "https"}


def donation_form(client: Client, cluster: Cluster, slug: str, **headers: str) -> dict[str, str]:
    """Open the campaign page: the donation form's fields, with this visitor's CSRF token."""
    status, _, page = client.request("GET", f"/campaigns/{slug}/", headers=headers)
    assert status == 200, status
    token = CSRF_INPUT.search(page)
    assert token, "no CSRF token in the campaign page"
    return {
        "csrfmiddlewaretoken": token.group(1).decode(), "amount": "25",
        "display_name": "Camille", "email": "camille@example.org", "show_amount": "on",
        "shown_as": "name",
    }  # fmt: skip


def post_donation(
    client: Client, cluster: Cluster, slug: str, form: dict[str, str], **headers: str
) -> tuple[int, dict[str, str]]:
    """Submit the donation form: (status, response headers); 303 to Checkout when it started."""
    origin = f"https://{cluster.server_name}"
    status, response_headers, _ = client.request(
        "POST", f"/campaigns/{slug}/donate/", body=urlencode(form).encode(),
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded",
                 "Origin": origin, "Referer": f"{origin}/campaigns/{slug}/"},
    )  # fmt: skip
    return status, response_headers


def start_donation(
    client: Client, cluster: Cluster, slug: str, *, amount: str, headers: dict[str, str]
) -> tuple[int, dict[str, str]]:
    form = donation_form(client, cluster, slug, **headers)
    return post_donation(client, cluster, slug, {**form, "amount": amount}, **headers)


def deliver(client: Client, body: bytes, headers: dict[str, str], *, deadline: float) -> list[int]:
    """One webhook delivery as Stripe makes it: retried after a 5xx or a failed connection until
    it is answered; returns the status of every attempt."""
    statuses = []
    pause = 0.2
    while True:
        status, _, _ = client.request("POST", "/stripe/webhook/", body=body, headers=headers)
        statuses.append(status)
        if 0 < status < 500 or time.monotonic() > deadline:
            return statuses
        time.sleep(pause)
        pause = min(pause * 2, 2.0)
