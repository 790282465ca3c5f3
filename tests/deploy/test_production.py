"""The site as docs/deploy.md puts it on a server, tried through nginx only, from distinct
loopback addresses (see conftest.py for how the stack is brought up).

The tests share one stack and run in this order; the Redis outage comes last.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urljoin, urlsplit

import pytest

from tests.deploy.conftest import EXPORT_ROWS, ORGANIZER_PASSWORD, WEBHOOK_SECRET, Deployed
from tests.deploy.http import Client
from tests.support.payments import completed_event

pytestmark = pytest.mark.deploy

SLUG = "legal-defense-fund"
CAMPAIGN = f"/campaigns/{SLUG}/"
CHECKOUTS = ("POST", "/v1/checkout/sessions")


def _donate(client: Client, amount: str = "25", **headers: str):
    form = {"amount": amount, "display_name": "Marie", "email": "marie@example.ca"}
    return client.post_form(
        f"{CAMPAIGN}donate/", CAMPAIGN, {**form, "show_amount": "on"}, **headers
    )


def _checkouts(deployed: Deployed) -> int:
    return len(deployed.fake.requests_to(*CHECKOUTS))


def test_the_documented_setup_gives_a_working_site(deployed: Deployed):
    client = deployed.client("127.0.0.2")

    page = client.get(CAMPAIGN)
    health = client.get("/healthz")
    css = client.get("/static/css/site.css")

    assert page.status == 200 and "Donate" in page.text
    assert (
        page.header("Strict-Transport-Security") == "max-age=31536000; includeSubDomains; preload"
    )
    assert json.loads(health.body) == {"status": "ok", "checks": {"database": True}}
    # collectstatic's hashed names, served by nginx itself from STATIC_ROOT.
    assert css.status == 200 and css.header("Cache-Control") == (
        "public, max-age=31536000, immutable"
    )
    assert (deployed.folder / "staticfiles" / "css" / "site.css").exists()
    assert deployed.setup_seconds < 300


def test_plain_http_is_redirected_to_https(deployed: Deployed):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", deployed.stack.http_port, timeout=10)
    conn.request("GET", CAMPAIGN)
    response = conn.getresponse()
    conn.close()

    assert response.status == 301
    assert response.headers["Location"] == f"https://127.0.0.1{CAMPAIGN}"


def test_french_pages_are_french_after_the_documented_steps(deployed: Deployed):
    client = deployed.client("127.0.0.3")

    page = client.get(f"/fr{CAMPAIGN}")

    assert page.status == 200
    assert '<html lang="fr' in page.text
    assert "Donner" in page.text


def test_30_members_from_30_addresses_all_reach_stripe(deployed: Deployed):
    before = _checkouts(deployed)
    started = time.monotonic()

    def member(i: int) -> int:
        # 12 a second: under the site-wide Checkout rate (STRIPE_CHECKOUT_RATE, 20/s by default),
        # which answers a burst above it with "try again in N seconds"; this is about the
        # per-client limits behind the proxy.
        time.sleep(max(0.0, started + i / 12 - time.monotonic()))
        return _donate(deployed.client(f"127.0.0.{10 + i}")).status

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(member, range(30)))
    seconds = time.monotonic() - started

    assert statuses == [303] * 30
    assert _checkouts(deployed) - before == 30
    assert seconds < 60


def test_one_address_forging_headers_reaches_stripe_at_most_the_limit(deployed: Deployed):
    before = _checkouts(deployed)
    responses = []
    for i in range(40):
        forged = (
            {"X-Forwarded-For": f"198.51.100.{i}", "X-Real-IP": f"203.0.113.{i}"} if i % 2 else {}
        )
        responses.append(_donate(deployed.client("127.0.0.50"), **forged))

    statuses = [r.status for r in responses]
    assert statuses[:5] == [303] * 5
    assert statuses[5:] == [429] * 35
    assert _checkouts(deployed) - before == 5
    assert all(0 < int(r.header("Retry-After") or 0) <= 600 for r in responses[5:])
    # The log names the client nginx saw, not nginx (127.0.0.1) nor a forged address.
    assert "Donation attempts rate-limited for 127.0.0.50" in deployed.log("fund-web")


def test_failed_sign_ins_from_one_address_do_not_lock_the_organizer_out(deployed: Deployed):
    attacker = deployed.client("127.0.0.60")
    statuses = [attacker.sign_in("organizer", f"guess-{i}").status for i in range(10)]

    organizer = deployed.client("127.0.0.61")
    signed_in = organizer.sign_in("organizer", ORGANIZER_PASSWORD)
    home = organizer.get("/admin/")

    assert statuses == [200] * 4 + [429] * 6
    assert signed_in.status == 302 and signed_in.header("Location") == "/admin/"
    assert home.status == 200 and "Background work" in home.text
    rows = deployed.sql(
        "SELECT host(ip_address), username, failures_since_start FROM axes_accessattempt"
    )
    assert rows == [("127.0.0.60", "organizer", 10)]


OFFSITE_PATHS = [
    "//evil.example/", "//evil.example", "//evil.example/fr/", "//evil.example/campaigns/",
    "/\\evil.example/", "/\\/evil.example/", "///evil.example/", "/%2F%2Fevil.example/",
    "/%5Cevil.example/", "//evil.example/%2e%2e/", "/fr//evil.example/",
]  # fmt: skip


@pytest.mark.parametrize(
    "language", [{}, {"Accept-Language": "fr-CA,fr;q=0.9"}, {"Cookie": "django_language=fr"}]
)
def test_no_redirect_leaves_the_site(deployed: Deployed, language: dict[str, str]):
    client = deployed.client("127.0.0.70")
    base = client.origin + "/"
    for path in OFFSITE_PATHS:
        target, hops = path, 0
        while hops < 5:
            response = client.get(target, **language)
            location = response.header("Location")
            if response.status not in (301, 302, 303, 307, 308) or not location:
                break
            absolute = urljoin(base, location)
            assert urlsplit(absolute).netloc == f"127.0.0.1:{deployed.stack.https_port}", (
                path, language, response.status, location,
            )  # fmt: skip
            target, hops = urlsplit(absolute).path or "/", hops + 1
        assert response.status in (200, 400, 404), (path, response.status)


def test_the_million_row_export_completes_through_nginx(deployed: Deployed):
    deployed.export_seed.wait(timeout=300)
    assert deployed.export_seed.returncode == 0, (deployed.stack.run_dir / "seed.log").read_text()
    client = deployed.client("127.0.0.62")
    assert client.sign_in("organizer", ORGANIZER_PASSWORD).status == 302

    path = f"/admin/donations/donation/export/{deployed.export_campaign_id}/"
    status, size, lines, seconds = client.stream(path)

    assert status == 200
    assert lines == EXPORT_ROWS + 1  # the header, then one line per donation
    assert size > 100 * EXPORT_ROWS
    print(f"\nCSV export through nginx: {lines:,} lines, {size / 1e6:.0f} MB in {seconds:.1f} s")


def _event_status(deployed: Deployed, stripe_id: str) -> str | None:
    rows = deployed.sql("SELECT status FROM donations_stripeevent WHERE stripe_id = %s", stripe_id)
    return str(rows[0][0]) if rows else None


def _wait(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_redis_down_degrades_without_taking_the_site_down(deployed: Deployed):
    client = deployed.client("127.0.0.80")
    _wait(lambda: client.get("/healthz/deep").status == 200, 30, "/healthz/deep to answer 200")

    deployed.redis.stop()
    try:
        outage_started = time.monotonic()
        pages = {
            path: client.get(path).status
            for path in (CAMPAIGN, f"/fr{CAMPAIGN}", f"{CAMPAIGN}totals.json", "/admin/login/")
        }
        donation = _donate(deployed.client("127.0.0.81"))
        session_id = (donation.header("Location") or "").rsplit("/", 1)[-1]
        event = completed_event(deployed.fake, session_id)
        webhook = client.webhook(json.dumps(event).encode(), WEBHOOK_SECRET)
        shallow = client.get("/healthz")
        deep = client.get("/healthz/deep")
        outage_seconds = time.monotonic() - outage_started

        assert pages == dict.fromkeys(pages, 200)
        assert donation.status == 303 and session_id.startswith("cs_test_")
        assert webhook.status == 200
        assert _event_status(deployed, event["id"]) == "received"
        assert shallow.status == 200
        assert deep.status == 503
        body = json.loads(deep.body)
        assert "broker" in body["failing"] and "cache" in body["failing"]
        assert body["checks"]["database"] is True
        assert "Rate-limit cache unavailable; donation attempt from 127.0.0.81 allowed" in (
            deployed.log("fund-web")
        )
    finally:
        deployed.redis.start()

    # Back: the stored event is processed by the sweep and the gift counts.
    _wait(lambda: _event_status(deployed, event["id"]) == "processed", 120, "the event processed")
    state = deployed.sql(
        "SELECT state FROM donations_donation WHERE checkout_session_id = %s", session_id
    )
    assert state == [("confirmed",)]
    _wait(lambda: client.get("/healthz/deep").status == 200, 60, "/healthz/deep back to 200")
    print(f"\nRedis outage: every check answered within {outage_seconds:.1f} s")
