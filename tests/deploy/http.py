"""An HTTPS client for the deploy tests: each request from a chosen loopback address
(127.0.0.x), so nginx sees distinct visitors; cookies kept like a browser's; redirects never
followed (the tests look at every Location)."""

from __future__ import annotations

import http.client
import re
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlencode

from tests.stripe_fake import sign

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Response:
    def __init__(self, status: int, headers: http.client.HTTPMessage, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Client:
    def __init__(self, port: int, *, source: str, cafile: Path) -> None:
        self.port = port
        self.source = source
        self.origin = f"https://127.0.0.1:{port}"
        self.context = ssl.create_default_context(cafile=str(cafile))
        self.cookies: dict[str, str] = {}

    @contextmanager
    def _connection(self, timeout: float) -> Iterator[http.client.HTTPSConnection]:
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=timeout, context=self.context,
            source_address=(self.source, 0),
        )  # fmt: skip
        try:
            yield conn
        finally:
            conn.close()

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> Response:
        sent = {"Accept": "text/html", **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        with self._connection(timeout) as conn:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
        self._keep_cookies(response.headers)
        return Response(response.status, response.headers, data)

    def _keep_cookies(self, headers: http.client.HTTPMessage) -> None:
        for cookie in headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    def get(self, path: str, **headers: str) -> Response:
        return self.request("GET", path, headers=headers)

    def post_form(
        self, path: str, form_page: str, data: dict[str, str], **headers: str
    ) -> Response:
        """Open `form_page` (for the CSRF token and cookie), then post `data` as its form."""
        page = self.get(form_page)
        match = CSRF_INPUT.search(page.text)
        assert match, f"no CSRF token on {form_page} ({page.status})"
        body = urlencode({"csrfmiddlewaretoken": match.group(1), **data}).encode()
        return self.request(
            "POST", path, body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin,
                "Referer": self.origin + form_page, **headers,
            },
        )  # fmt: skip

    def webhook(self, payload: bytes, secret: str) -> Response:
        return self.request(
            "POST", "/stripe/webhook/", body=payload,
            headers={"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret)},
        )  # fmt: skip

    def sign_in(self, username: str, password: str) -> Response:
        return self.post_form(
            "/admin/login/?next=/admin/", "/admin/login/",
            {"username": username, "password": password, "next": "/admin/"},
        )  # fmt: skip

    def stream(self, path: str, timeout: float = 600) -> tuple[int, int, int, float]:
        """GET a download, reading it as it comes: (status, bytes, lines, seconds)."""
        started = time.monotonic()
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        with self._connection(timeout) as conn:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            size = lines = 0
            while chunk := response.read(1 << 16):
                size += len(chunk)
                lines += chunk.count(b"\n")
        return response.status, size, lines, time.monotonic() - started
