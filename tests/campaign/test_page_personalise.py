"""A cached page is cut once around its per-visitor parts and filled in for each visitor
(front/cache.py: `personalise`)."""

from __future__ import annotations

from typing import Any

from django.middleware.csrf import _unmask_cipher_token  # type: ignore[attr-defined]

from front import personal as page_cache

PAGE = (
    f'<form><input name="csrfmiddlewaretoken" value="{page_cache.CSRF_PLACEHOLDER}"></form>'
    f'<script nonce="{page_cache.NONCE_PLACEHOLDER}"></script>'
    f'<form><input name="csrfmiddlewaretoken" value="{page_cache.CSRF_PLACEHOLDER}"></form>é'
)


def test_each_visitor_gets_their_token_and_nonce_in_every_slot(rf: Any) -> None:
    page_cache.forget()
    pages = []
    for _ in range(2):
        request = rf.get("/")
        request._csp_nonce = "n0nce"
        body = page_cache.personalise(PAGE, request).decode()
        assert page_cache.CSRF_PLACEHOLDER not in body
        assert page_cache.NONCE_PLACEHOLDER not in body
        assert '<script nonce="n0nce">' in body and body.endswith("</form>é")
        tokens = [part.split('"')[0] for part in body.split('value="')[1:]]
        assert len(tokens) == 2
        assert {_unmask_cipher_token(t) for t in tokens} == {request.META["CSRF_COOKIE"]}
        pages.append(body)
    assert pages[0] != pages[1]  # a new secret and mask for each first-time visitor


def test_a_page_without_slots_is_served_as_it_is(rf: Any) -> None:
    request = rf.get("/")
    assert page_cache.personalise(b"<p>badge</p>", request) == b"<p>badge</p>"
    assert page_cache.personalise("<p>badge</p>", request) == b"<p>badge</p>"
    assert "CSRF_COOKIE" not in request.META  # no token drawn, so no cookie set


def test_random_characters_are_never_shared_with_a_forked_worker() -> None:
    """The characters come from a per-thread block of the OS generator's output: a process forked
    from this one (gunicorn's workers) starts with none of it, so no two workers hand out the same
    tokens. Forked from a fresh, single-threaded interpreter, as gunicorn's master is."""
    import subprocess
    import sys

    script = """
import os
from front import personal
personal._random_chars(32)  # this thread now holds the rest of a block
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(write, b"inherited" if getattr(personal._stock, "chars", b"") else b"empty")
    os._exit(0)
os.waitpid(pid, 0)
print(os.read(read, 16).decode(), len(personal._stock.chars) > 0)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["empty", "True"], done.stderr
