"""Every test is held to Stripe's contract: a request the Stripe fake refused (unknown or missing
parameter, bad enum, reused idempotency key, unknown endpoint or API version) fails the test that
made it, unless the test is marked `@pytest.mark.stripe_rejects` because it sends one on purpose.

The fakes run in the test process (the `stripe_server` fixture, the deploy and storm stacks whose
gunicorn calls them), so `testing.stripe_fake.server.REJECTIONS` sees every fake's refusals.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from testing.stripe_fake.server import REJECTIONS, Rejection

MARKER = "stripe_rejects"


def rejections_since(start: int) -> list[Rejection]:
    return list(REJECTIONS[start:])


def report(rejections: Sequence[Rejection]) -> str:
    lines = [
        f"  {r.method} {r.path} -> {r.status} {r.message}"
        + (f" (param {r.param})" if r.param else "")
        for r in rejections
    ]
    return (
        "Stripe would have refused a request this test made (mark the test "
        f"@pytest.mark.{MARKER} if it is meant to):\n" + "\n".join(lines)
    )


def hold_to_contract(rejections: Sequence[Rejection], *, expected: bool) -> None:
    """Fail the test for refused requests it did not expect."""
    if rejections and not expected:
        pytest.fail(report(rejections), pytrace=False)
