"""`/healthz` depends on the database alone (what the balancer polls); `/healthz/deep` names every
dependency that fails: database, broker, cache, worker and beat heartbeats."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

import pytest
from django.core.cache import caches
from django.db import OperationalError, connection
from django.utils import timezone

from ops.models import Beat, Heartbeat
from ops.services import heartbeat_record

pytestmark = pytest.mark.django_db


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthy_without_a_broker(client, settings):
    settings.CELERY_BROKER_URL = ""

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": True}}
    assert response["Cache-Control"] == "no-store"


def test_a_dead_broker_keeps_healthz_up_and_deep_names_it_fast(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{dead_port()}/0"
    heartbeat_record(name=Beat.WORKER)
    heartbeat_record(name=Beat.BEAT)

    started = time.monotonic()
    shallow = client.get("/healthz")
    deep = client.get("/healthz/deep")

    assert shallow.status_code == 200
    assert deep.status_code == 503
    body = deep.json()
    assert body["status"] == "unavailable" and body["failing"] == ["broker"]
    assert body["checks"] == {
        "database": True, "broker": False, "cache": True, "worker": True, "beat": True,
    }  # fmt: skip
    assert time.monotonic() - started < 10


def test_deep_names_a_stale_worker_and_beat(client, settings, monkeypatch):
    settings.HEARTBEAT_SECONDS = 60
    from ops import health

    monkeypatch.setattr(health, "_broker_ok", lambda: True)
    old = timezone.now() - timedelta(minutes=4)
    Heartbeat.objects.create(name=Beat.WORKER, at=old)
    heartbeat_record(name=Beat.BEAT)

    body = client.get("/healthz/deep").json()

    assert body["failing"] == ["worker"]
    assert body["last_seen"]["worker"] == old.isoformat()


def test_deep_names_a_broken_cache(client, monkeypatch, settings):
    settings.CELERY_BROKER_URL = ""  # in-process tasks: no broker, worker or beat to report

    def broken(*args, **kwargs):
        raise ConnectionError("redis down")

    monkeypatch.setattr(caches["default"], "set", broken)

    response = client.get("/healthz/deep")

    assert response.status_code == 503 and response.json()["failing"] == ["cache"]
    assert client.get("/healthz").status_code == 200


def test_a_broken_database_is_503(client, monkeypatch):
    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(connection, "cursor", broken)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False
    deep = client.get("/healthz/deep").json()
    assert "database" in deep["failing"]


@pytest.mark.worker
def test_healthy_with_the_real_broker(client, settings):
    settings.CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    heartbeat_record(name=Beat.WORKER)
    heartbeat_record(name=Beat.BEAT)

    response = client.get("/healthz/deep")

    assert response.status_code == 200, response.json()
    assert response.json()["checks"] == {
        "database": True, "broker": True, "cache": True, "worker": True, "beat": True,
    }  # fmt: skip
