"""The backup commands of docs/operations.md: dump, restore into a fresh database, same totals."""

from __future__ import annotations

import subprocess
import uuid
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from core.money import cad
from donations import services
from donations.models import CampaignTotals, Donation
from tests.support.factories import CampaignFactory, confirmed_donation

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _conn_args() -> list[str]:
    s = connection.settings_dict
    return [
        "-h",
        s.get("HOST") or "127.0.0.1",
        "-p",
        str(s.get("PORT") or 5432),
        "-U",
        s.get("USER") or "postgres",
    ]


def _totals(dbname: str) -> list[tuple]:
    s = connection.settings_dict
    host, port, user = s.get("HOST") or "127.0.0.1", s.get("PORT") or 5432, s.get("USER")
    conninfo = f"host={host} port={port} user={user or 'postgres'} dbname={dbname}"
    if s.get("PASSWORD"):
        conninfo += f" password={s['PASSWORD']}"
    with psycopg.connect(conninfo) as conn:
        totals = conn.execute(
            "SELECT campaign_id, gross, refunded, disputed, fees, donation_count, donor_count "
            "FROM donations_campaigntotals ORDER BY campaign_id"
        ).fetchall()
        counted = conn.execute(
            "SELECT state, count(*), sum(amount) FROM donations_donation "
            "GROUP BY state ORDER BY state"
        ).fetchall()
    return [*totals, *counted]


def test_pg_dump_and_pg_restore_into_a_fresh_database_keep_the_totals(tmp_path: Path):
    campaign = CampaignFactory.create(slug="backup")
    for amount in ("25.00", "100.00", "7.50"):
        confirmed_donation(campaign, amount)
    refunded = confirmed_donation(campaign, "40.00")
    services.refund_record(
        donation_ref=str(refunded.public_id),
        payment_intent_id=refunded.payment_intent_id,
        charge_id="ch_backup",
        amount_refunded=cad(Decimal("15.00")),
    )
    Donation.objects.create(campaign=campaign, amount=cad(Decimal("9.00")))  # pending
    source = connection.settings_dict["NAME"]
    before = _totals(source)
    assert CampaignTotals.objects.get(campaign=campaign).gross.amount == Decimal("172.50")

    dump = tmp_path / "campaign.dump"
    restored = f"restore_{uuid.uuid4().hex[:10]}"
    # The commands of docs/operations.md, "Backups and restore".
    subprocess.run(
        ["pg_dump", *_conn_args(), "--format=custom", "--no-owner", f"--file={dump}", source],
        check=True,
    )
    subprocess.run(["createdb", *_conn_args(), restored], check=True)
    try:
        subprocess.run(
            [
                "pg_restore",
                *_conn_args(),
                "--no-owner",
                "--exit-on-error",
                f"--dbname={restored}",
                str(dump),
            ],
            check=True,
        )
        after = _totals(restored)
    finally:
        subprocess.run(["dropdb", *_conn_args(), "--if-exists", restored], check=True)

    assert after == before
    assert dump.stat().st_size > 0
