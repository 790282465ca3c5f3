"""No redirect leaves the site, whatever path a link points at: under gunicorn, which (unlike
runserver) passes `//evil.example/` to Django as it came, in English and in French."""

from __future__ import annotations

import http.client
import subprocess
from urllib.parse import urljoin, urlsplit

import pytest

from tests.live import ROOT, Server, process_env

PATHS = [
    "//evil.example/", "//evil.example", "//evil.example/fr/", "//evil.example/campaigns/",
    "/\\evil.example/", "/\\/evil.example/", "///evil.example/", "/%2F%2Fevil.example/",
    "/%5Cevil.example/", "/%2F/evil.example/", "/fr//evil.example/", "//evil.example/?next=/",
]  # fmt: skip
LANGUAGES = {
    "english": {},
    "accept-language": {"Accept-Language": "fr-CA,fr;q=0.9"},
    "cookie": {"Cookie": "django_language=fr"},
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("redirect") / "site.sqlite3"
    env = process_env(DATABASE_URL=f"sqlite:///{db}")
    for command in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run(
            [str(ROOT / ".venv/bin/python"), "manage.py", *command], cwd=ROOT, env=env,
            check=True, capture_output=True,
        )  # fmt: skip
    server = Server(workers=1, threads=2, DATABASE_URL=f"sqlite:///{db}")
    yield server
    server.stop()


def _get(server: Server, path: str, headers: dict[str, str]) -> tuple[int, str | None]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept": "text/html", **headers})
        response = conn.getresponse()
        response.read()
        return response.status, response.headers.get("Location")
    finally:
        conn.close()


@pytest.mark.parametrize("language", LANGUAGES.values(), ids=LANGUAGES.keys())
def test_no_redirect_leaves_the_site(server, language):
    ours = f"127.0.0.1:{server.port}"
    for path in PATHS:
        target = path
        for _ in range(5):
            status, location = _get(server, target, language)
            if not location:
                break
            absolute = urljoin(f"http://{ours}/", location)
            assert urlsplit(absolute).netloc == ours, (path, status, location)
            target = urlsplit(absolute).path
        assert status in (200, 404), (path, status)


def test_french_readers_are_still_sent_to_the_french_site(server):
    assert _get(server, "/", LANGUAGES["accept-language"]) == (302, "/fr/")
    status, location = _get(server, "/", LANGUAGES["english"])
    assert status in (200, 302) and not (location or "").startswith("/fr/")
