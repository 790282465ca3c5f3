"""Donation start under load, and the gunicorn worker models compared on it."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from bench.config import CONNECTIONS, Config, Report, log
from bench.load import wrk
from bench.measure import Series, floor_between, floor_run, http_get, measured
from bench.report import series_row
from bench.stack import LIMITS_LIFTED, Stack, gunicorn_start


def csrf_for(stack: Stack, slug: str) -> tuple[str, str]:
    """Load the campaign page as a visitor does: its CSRF cookie and the form's token."""
    _, body, headers = http_get(stack.base + f"/campaigns/{slug}/")
    cookie = ""
    for value in headers.get_all("Set-Cookie") or []:
        if value.startswith("csrftoken="):
            cookie = value.split(";", 1)[0].split("=", 1)[1]
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    if not cookie or not match:
        raise RuntimeError("The campaign page gave no CSRF cookie or token.")
    return cookie, match.group(1).decode()


def donation_start(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
    """The server's own cost of a donation start, as fast as 16 senders go: Stripe's limits
    lifted (no site can start more than 25 a second against the real Stripe); gunicorn is
    restarted as production runs it afterwards."""
    gunicorn_start(stack, config, env_extra=LIMITS_LIFTED)
    try:
        _donation_start(report, stack, config, campaign)
    finally:
        gunicorn_start(stack, config)


def _donation_start(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
    from donations.models import Donation

    cookie, token = csrf_for(stack, campaign.slug)
    path = f"/campaigns/{campaign.slug}/donate/"
    status, _, headers = _post_form(stack.base + path, cookie, token)
    if status != 303 or "checkout.stripe.test" not in (headers.get("Location") or ""):
        raise RuntimeError(f"A donation start answered {status}, not a 303 to Checkout")
    series = Series("donation start (Stripe's rate limits lifted: the server's own capacity)")
    for n in range(config.runs):
        floor_before = floor_run(stack, config)
        before = Donation.objects.filter(state="pending", display_name="Bench donor").count()
        run = measured(
            stack,
            stack.base + path,
            config.seconds,
            script="donate.lua",
            env={"BENCH_CSRF_COOKIE": cookie, "BENCH_CSRF_TOKEN": token},
        )
        created = Donation.objects.filter(state="pending", display_name="Bench donor").count()
        floor = floor_between(floor_before, floor_run(stack, config))
        series.runs.append(run)
        series.floors.append(floor)
        log(
            f"donation start round {n + 1}: {run.rps:.0f} rps (floor {floor.rps:.0f}), "
            f"{created - before} pending donations created for {run.requests} requests, "
            f"errors {run.status_errors + run.socket_errors}"
        )
        if created - before < run.requests - run.socket_errors:
            report.notes.append(
                f"Donation start round {n + 1}: {run.requests} requests but only "
                f"{created - before} donations created."
            )
    report.rows.append(series_row("load", series))
    report.check(
        "donation start ≥ 0.5 × floor",
        series.ratio >= 0.5 and series.errors == 0,
        f"{series.rps:.0f} rps = {series.ratio:.2f} × floor ({series.floor_rps:.0f} rps), "
        f"by CPU per request {series.cpu_ratio:.2f} × floor, errors {series.errors}",
    )


def _post_form(url: str, cookie: str, token: str) -> tuple[int, bytes, Any]:
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": token, "amount": "25.00", "display_name": "Bench check"}
    ).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(  # noqa: S310 - local address
        url, data=body, headers={"Cookie": f"csrftoken={cookie}"}, method="POST"
    )
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def compare_worker_models(report: Report, stack: Stack, config: Config, campaign: Any) -> None:
    """One short round per gunicorn worker model, to show the one used is the better here."""
    from donations.models import Donation

    # The first is another configuration, labelled as such; the second is gunicorn.conf.py's.
    n, threads = config.processes, config.threads_each
    models = [
        (
            f"{n} sync workers (another configuration: --worker-class sync)",
            ["--worker-class", "sync", "--threads", "1"],
        ),
        (f"{n} gthread processes × {threads} threads (gunicorn.conf.py)", []),
    ]
    path = f"/campaigns/{campaign.slug}/donate/"
    for label, override in models:
        gunicorn_start(stack, config, override=override, env_extra=LIMITS_LIFTED)
        cookie, token = csrf_for(stack, campaign.slug)
        floor = floor_run(stack, config)
        donate = wrk(
            stack.base + path,
            seconds=config.seconds,
            connections=CONNECTIONS,
            script="donate.lua",
            env={"BENCH_CSRF_COOKIE": cookie, "BENCH_CSRF_TOKEN": token},
        )
        log(f"{label}: floor {floor.rps:.0f} rps, donation start {donate.rps:.0f} rps")
        report.rows.append(
            {
                "section": "server",
                "name": label,
                "value": f"floor {floor.rps:,.0f} rps (p99 {floor.p99_ms:.1f} ms); donation start "
                f"{donate.rps:,.0f} rps = {donate.rps / floor.rps:.2f} × floor (one run each; "
                "Stripe's rate limits lifted)",
            }
        )
    Donation.objects.filter(display_name="Bench donor").delete()
