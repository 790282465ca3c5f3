"""Signing a test client in to the donor's page, as following the emailed link does."""

from __future__ import annotations

import re
from typing import Any

from django.test import Client

from donations.services import donor_access

LINK = re.compile(r"https?://[^/\s]+(/(?:fr/)?my-gifts/open/[^/\s]+/)")


def sign_in(client: Client, email: str, *, language: str = "") -> Any:
    """Issue a fresh link for `email` and follow it; returns the redirect response."""
    token = donor_access.donor_link_issue(email=email)
    response = client.get(f"{language}/my-gifts/open/{token}/")
    assert response.status_code == 303, response.status_code
    return response


def link_in(body: str) -> str:
    """The path of the sign-in link in an email body."""
    found = LINK.search(body)
    assert found, body
    return found.group(1)


def email_parts(message: Any) -> tuple[str, str, str]:
    """Subject, text and HTML of a sent email."""
    return str(message.subject), str(message.body), str(message.alternatives[0].content)
