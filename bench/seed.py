"""Fast seeding with PostgreSQL's COPY, then every counter and rollup rebuilt by one SQL aggregate.

Rows go straight into the tables (no model instances): a million donations take well under a
minute. Columns the benchmark does not choose get the model field's own default, so new fields
added by other features do not break seeding.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection, models
from django.utils import timezone
from djmoney.money import Money

from campaign.models import Campaign, Subscriber
from donations.models import Donation

MEMBERS = 46_000
AMOUNTS = [Decimal(a) for a in ("5", "10", "10", "20", "25", "25", "25", "50", "50", "100", "250")]
CENT = Decimal("0.01")


def _defaults(model: type[models.Model], chosen: set[str]) -> dict[str, Any]:
    """The database value of every column we do not set, from the fields' own defaults."""
    values: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        column = str(field.column)
        if column in chosen or field.primary_key:
            continue
        value = field.get_default()
        if isinstance(value, Money):
            value = value.amount
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            value = timezone.now()
        values[column] = field.get_db_prep_save(value, connection)
    return values


def _copy(table: str, columns: list[str], rows: Iterator[tuple[Any, ...]]) -> int:
    count = 0
    names = ", ".join(f'"{c}"' for c in columns)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg's own cursor: Django's wrapper has no copy()
        with raw.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def _fee(amount: Decimal) -> Decimal:
    return (amount * Decimal("0.029") + Decimal("0.30")).quantize(CENT, ROUND_HALF_UP)


def donations_copy(
    *,
    campaign: Campaign,
    count: int,
    start: int = 0,
    state: str = "confirmed",
    now: datetime | None = None,
    session_prefix: str = "cs_seed",
) -> int:
    """COPY `count` donations. Confirmed ones look like months of real gifts: 46,000 members giving
    again and again, some anonymous, some with messages, 1 % refunded in part or in full."""
    rng = random.Random(start)  # noqa: S311 - test data
    now = now or timezone.now()
    chosen = {
        "public_id", "campaign_id", "amount", "amount_currency", "amount_refunded",
        "amount_refunded_currency", "fee", "fee_currency", "state", "channel", "display_name",
        "message", "anonymous", "show_amount", "email", "donor_key", "checkout_session_id",
        "payment_intent_id", "created_at", "confirmed_at", "receipt_sent_at",
    }  # fmt: skip
    defaults = _defaults(Donation, chosen)
    columns = sorted(chosen) + list(defaults)
    span = timedelta(days=90)
    confirmed = state == "confirmed"
    keys = {i: hashlib.sha256(f"member{i}@example.test".encode()).hexdigest() for i in range(200)}

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(start, start + count):
            amount = rng.choice(AMOUNTS)
            member = rng.randrange(MEMBERS)
            email = f"member{member}@example.test"
            key = keys.get(member) or hashlib.sha256(email.encode()).hexdigest()
            refunded = Decimal("0")
            row_state = state
            if confirmed and n % 100 == 7:
                refunded = amount  # a full refund
                row_state = "refunded"
            elif confirmed and n % 100 == 57:
                refunded = (amount / 2).quantize(CENT)
            anonymous = n % 5 == 0
            # Spread over the last 90 days, oldest first, so the newest are the last rows.
            when = now - span + span * ((n + 1) / (start + count + 1)) if confirmed else now
            values = {
                "public_id": uuid.uuid4(),
                "campaign_id": campaign.pk,
                "amount": amount,
                "amount_currency": "CAD",
                "amount_refunded": refunded,
                "amount_refunded_currency": "CAD",
                "fee": _fee(amount) if confirmed else Decimal("0"),
                "fee_currency": "CAD",
                "state": row_state,
                "channel": "stripe",
                "display_name": "" if anonymous else f"Member {member}",
                "message": "On lâche pas!" if n % 10 == 3 else "",
                "anonymous": anonymous,
                "show_amount": n % 3 != 0,
                "email": email if confirmed else "",
                "donor_key": key if confirmed else "",
                "checkout_session_id": f"{session_prefix}_{n}",
                "payment_intent_id": f"pi_seed_{n}" if confirmed else "",
                "created_at": when,
                "confirmed_at": when if confirmed else None,
                "receipt_sent_at": when if confirmed else None,
            }
            yield tuple(values[c] for c in sorted(chosen)) + tuple(defaults.values())

    return _copy(Donation._meta.db_table, columns, rows())


def subscribers_copy(*, campaign: Campaign, count: int) -> int:
    chosen = {"campaign_id", "email", "language", "state", "created_at", "confirmed_at"}
    defaults = _defaults(Subscriber, chosen)
    columns = sorted(chosen) + list(defaults)
    now = timezone.now()

    def rows() -> Iterator[tuple[Any, ...]]:
        for n in range(count):
            values = {
                "campaign_id": campaign.pk,
                "email": f"subscriber{n}@example.test",
                "language": "fr" if n % 3 == 0 else "en",
                "state": "confirmed",
                "created_at": now,
                "confirmed_at": now,
            }
            yield tuple(values[c] for c in sorted(chosen)) + tuple(defaults.values())

    return _copy(Subscriber._meta.db_table, columns, rows())


# What one donation contributes, exactly as `Donation.contribution()` computes it, in SQL.
COUNTED = "state IN ('confirmed', 'refunded') AND flag = ''"
REFUNDED = "LEAST(amount_refunded, amount)"
DISPUTED = f"CASE WHEN dispute_state IN ('open', 'lost') THEN amount - {REFUNDED} ELSE 0 END"
OFFLINE = "CASE WHEN channel NOT IN ('stripe', 'demo') THEN amount ELSE 0 END"
KEPT = f"CASE WHEN {REFUNDED} < amount THEN 1 ELSE 0 END"


def counters_rebuild(*, campaign: Campaign) -> None:
    """Rebuild the totals row, donor tallies, daily rollups and amount tallies from the rows."""
    table = Donation._meta.db_table
    tz = timezone.get_current_timezone_name()
    statements = [
        "DELETE FROM donations_donortally WHERE campaign_id = %(c)s",
        f"""INSERT INTO donations_donortally (campaign_id, donor_key, counted)
            SELECT campaign_id, donor_key, SUM({KEPT}) FROM {table}
            WHERE campaign_id = %(c)s AND {COUNTED} AND donor_key <> ''
            GROUP BY campaign_id, donor_key""",
        "DELETE FROM donations_campaigntotals WHERE campaign_id = %(c)s",
        f"""INSERT INTO donations_campaigntotals (campaign_id, gross, gross_currency, refunded,
              refunded_currency, disputed, disputed_currency, fees, fees_currency, offline,
              offline_currency, donation_count, donor_count, updated_at)
            SELECT %(c)s, COALESCE(SUM(amount), 0), 'CAD', COALESCE(SUM({REFUNDED}), 0), 'CAD',
              COALESCE(SUM({DISPUTED}), 0), 'CAD', COALESCE(SUM(fee), 0), 'CAD',
              COALESCE(SUM({OFFLINE}), 0), 'CAD', COALESCE(SUM({KEPT}), 0),
              COUNT(DISTINCT donor_key) FILTER (WHERE donor_key <> '' AND {REFUNDED} < amount)
                + COUNT(*) FILTER (WHERE donor_key = '' AND {REFUNDED} < amount),
              now()
            FROM {table} WHERE campaign_id = %(c)s AND {COUNTED}""",
    ]
    if _table_exists("donations_dailyrollup"):
        statements += [
            "DELETE FROM donations_dailyrollup WHERE campaign_id = %(c)s",
            f"""INSERT INTO donations_dailyrollup (campaign_id, day, gross, gross_currency,
                  refunded, refunded_currency, disputed, disputed_currency, fees, fees_currency,
                  offline, offline_currency, donation_count)
                SELECT campaign_id, (confirmed_at AT TIME ZONE %(tz)s)::date, SUM(amount), 'CAD',
                  SUM({REFUNDED}), 'CAD', SUM({DISPUTED}), 'CAD', SUM(fee), 'CAD',
                  SUM({OFFLINE}), 'CAD', SUM({KEPT})
                FROM {table} WHERE campaign_id = %(c)s AND {COUNTED}
                GROUP BY campaign_id, (confirmed_at AT TIME ZONE %(tz)s)::date""",
        ]
    if _table_exists("donations_amounttally"):
        statements += [
            "DELETE FROM donations_amounttally WHERE campaign_id = %(c)s",
            f"""INSERT INTO donations_amounttally (campaign_id, amount, count)
                SELECT campaign_id, amount - {REFUNDED}, COUNT(*)
                FROM {table} WHERE campaign_id = %(c)s AND {COUNTED} AND {REFUNDED} < amount
                GROUP BY campaign_id, amount - {REFUNDED}""",
        ]
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql, {"c": campaign.pk, "tz": tz})
        cursor.execute(f"ANALYZE {table}")


def _table_exists(name: str) -> bool:
    return name in connection.introspection.table_names()


def true_sums(*, campaign: Campaign) -> dict[str, Any]:
    """The figures summed over every donation row: what the counters must equal."""
    table = Donation._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT COALESCE(SUM(amount - {REFUNDED} - ({DISPUTED})), 0),
                  COALESCE(SUM({KEPT}), 0) FROM {table} WHERE campaign_id = %s AND {COUNTED}""",
            [campaign.pk],
        )
        raised, kept = cursor.fetchone()
    return {"raised": Decimal(raised).quantize(CENT), "donation_count": int(kept)}


def timed(label: str, func: Callable[[], Any], log: Callable[[str], None]) -> tuple[Any, float]:
    started = timezone.now()
    result = func()
    seconds = (timezone.now() - started).total_seconds()
    log(f"{label}: {seconds:.1f} s")
    return result, seconds
