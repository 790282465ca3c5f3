"""Error reporting: with SENTRY_DSN set, a server error reaches Sentry (here a local HTTP sink
speaking Sentry's envelope endpoint) without the donor's email, name or message in it."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE_URLS = """
from django.http import HttpResponse
from django.urls import path


def boom(request):
    email = request.POST["email"]
    donor = {"display_name": request.POST["display_name"], "email": email, "amount": "25.00"}
    raise RuntimeError(f"Checkout failed for {email} ({donor['amount']})")


from config.urls import handler500, urlpatterns as site  # noqa: E402,F401

urlpatterns = [path("boom/", boom), *site]
"""

PROBE = """
import django
django.setup()
import sentry_sdk
from django.test import Client
from django.test.utils import override_settings

with override_settings(ROOT_URLCONF="sentry_probe_urls"):
    response = Client(raise_request_exception=False).post(
        "/boom/",
        {"email": "marie@example.ca", "display_name": "Marie-Eve Tremblay",
         "message": "Go Tremblay"},
    )
print(response.status_code)
sentry_sdk.flush(timeout=10)
"""


class Sink:
    """Accepts what the SDK posts to /api/<project>/envelope/ and keeps it decoded."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    data = gzip.decompress(data)
                elif encoding == "br":
                    import brotli

                    data = brotli.decompress(data)
                elif encoding == "deflate":
                    data = zlib.decompress(data)
                sink.bodies.append(data)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_address[1]}/1"

    def events(self) -> list[dict[str, Any]]:
        found = []
        for body in self.bodies:
            lines = body.split(b"\n")
            for header, payload in zip(lines[1::2], lines[2::2], strict=False):
                if json.loads(header).get("type") == "event":
                    found.append(json.loads(payload))
        return found


@pytest.fixture
def sink():
    sink = Sink()
    yield sink
    sink.server.shutdown()


def test_a_server_error_reaches_sentry_without_donor_data(sink, tmp_path):
    (tmp_path / "sentry_probe_urls.py").write_text(PROBE_URLS)
    env = {
        **os.environ, "TESTING": "1", "SENTRY_DSN": sink.dsn, "SENTRY_ENVIRONMENT": "test",
        "DJANGO_SETTINGS_MODULE": "config.settings", "DATABASE_URL": "sqlite:///:memory:",
        "PYTHONPATH": f"{tmp_path}:{ROOT}",
    }  # fmt: skip

    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip

    assert result.stdout.strip().endswith("500"), result.stderr
    events = sink.events()
    assert len(events) == 1, sink.bodies
    event = events[0]
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "Checkout failed for [email] (25.00)"
    assert event["environment"] == "test"
    assert event["request"]["data"]["display_name"] == "[Filtered]"
    everything = b"".join(sink.bodies).decode(errors="replace")
    assert "marie@example.ca" not in everything
    assert "Tremblay" not in everything
    assert "Marie" not in everything
    # send_default_pii is off: no cookies, no user, no client address.
    assert "cookies" not in event["request"] and "user" not in event


def test_without_a_dsn_errors_are_mailed_to_admins():
    env = {
        **os.environ, "TESTING": "1", "ADMINS": "ops@example.org", "SENTRY_DSN": "",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }  # fmt: skip
    code = (
        "import django; django.setup(); import sentry_sdk; from django.conf import settings as s;"
        "print(s.ADMINS, s.LOGGING['loggers']['celery.app.trace']['handlers'],"
        " sentry_sdk.get_client().is_active())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.split() == ["['ops@example.org']", "['mail_admins']", "False"], (
        result.stderr
    )
