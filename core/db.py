"""Database helpers shared by the apps."""

from __future__ import annotations

from django.db import connection


def commit_without_waiting_for_disk() -> None:
    """Let the current transaction's commit return before PostgreSQL flushes it to disk.

    Call inside `transaction.atomic()`, only for writes whose loss in a *database* crash (the last
    fraction of a second of commits) is harmless; everything about money stays fully durable. On a
    busy disk each flush costs 5-25 ms, most of what such a write waits for (docs/benchmarks.md).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
