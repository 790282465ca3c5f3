"""`GET /healthz`: 200 when the database (and the broker, when set) answer, 503 otherwise."""

from __future__ import annotations

import os
import socket
import time

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthy_without_a_broker(client, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True, "broker": None}}
    assert response["Cache-Control"] == "no-store"


def test_a_dead_broker_is_503_fast(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{dead_port()}/0"

    started = time.monotonic()
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": True, "broker": False},
    }
    assert time.monotonic() - started < 10


def test_a_broken_database_is_503(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False


@pytest.mark.worker
def test_healthy_with_the_real_broker(client, settings):
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}
