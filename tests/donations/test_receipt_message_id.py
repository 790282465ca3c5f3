"""A receipt keeps one Message-ID however often it is sent: a copy re-sent after a worker died
between the mail server's acceptance and the commit is recognisably the same message."""

from __future__ import annotations

import pytest
from django.core import mail

from donations.emails import receipt_send
from tests.support.factories import confirmed_donation

pytestmark = pytest.mark.django_db


def test_a_receipt_sent_twice_has_one_message_id(campaign):
    donation = confirmed_donation(campaign, email="marie@example.ca")
    mail.outbox.clear()
    receipt_send(donation)
    receipt_send(donation)
    ids = {message.message()["Message-ID"] for message in mail.outbox}
    assert ids == {f"<receipt.{donation.public_id}@testserver>"}
