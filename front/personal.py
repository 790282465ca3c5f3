"""The per-visitor parts of a cached page: this visitor's CSRF token and CSP nonce, filled into
a page rendered once for everyone (front/cache.py) with placeholders where they go."""

from __future__ import annotations

import os
import re
import threading

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csp import get_nonce
from django.middleware.csrf import CSRF_ALLOWED_CHARS, CSRF_SECRET_LENGTH, get_token

CSRF_PLACEHOLDER = "__CSRF_TOKEN_PLACEHOLDER__"
NONCE_PLACEHOLDER = "__CSP_NONCE_PLACEHOLDER__"
MAX_PAGES = 256

# A cached page cut around its per-visitor parts, by page: filled in with one join per request
# instead of searching 18 KB for each placeholder and encoding it again. Keyed by the page itself,
# whose hash Python keeps with the object, so a page served from the local copy is found at once.
_TOKEN, _NONCE = 0, 1  # in a cut page, where the CSRF token and the CSP nonce go
_pieces: dict[str | bytes, tuple[bytes | int, ...]] = {}
_SLOT = re.compile(f"({CSRF_PLACEHOLDER}|{NONCE_PLACEHOLDER})")
_SLOTS = {CSRF_PLACEHOLDER: _TOKEN, NONCE_PLACEHOLDER: _NONCE}


def _cut(page: str | bytes) -> tuple[bytes | int, ...]:
    found = _pieces.get(page)
    if found is None:
        html = page.decode() if isinstance(page, bytes) else page
        found = tuple(_SLOTS.get(part, part.encode()) for part in _SLOT.split(html) if part)
        if len(_pieces) >= MAX_PAGES:
            _pieces.clear()
        _pieces[page] = found
    return found


def forget() -> None:
    """Drop the cut pages (tests: the shared cache is cleared between them)."""
    _pieces.clear()


def personalise(page: str | bytes, request: HttpRequest) -> bytes:
    """This visitor's page: a cached page with their CSRF token and CSP nonce filled in."""
    pieces = _cut(page)
    token = csrf_token(request).encode() if _TOKEN in pieces else b""
    nonce = b""
    if _NONCE in pieces:
        value = get_nonce(request)
        nonce = str(value).encode() if value is not None else b""
    slots = (token, nonce)
    return b"".join(piece if isinstance(piece, bytes) else slots[piece] for piece in pieces)


_CHAR_INDEX = {c: i for i, c in enumerate(CSRF_ALLOWED_CHARS)}
_UNIFORM_BELOW = 256 - 256 % len(CSRF_ALLOWED_CHARS)  # 248: bytes below it map uniformly
# bytes.translate maps each random byte to its character and drops the bytes at or above
# _UNIFORM_BELOW (rejection sampling) in one C call.
_BYTE_TO_CHAR = bytes(ord(CSRF_ALLOWED_CHARS[b % len(CSRF_ALLOWED_CHARS)]) for b in range(256))
_REJECTED = bytes(range(_UNIFORM_BELOW, 256))
# The masked token's characters: (secret char, mask char) -> their sum, as Django's
# _mask_cipher_secret computes it one character at a time.
_CIPHER = {
    (x, y): CSRF_ALLOWED_CHARS[(_CHAR_INDEX[x] + _CHAR_INDEX[y]) % len(CSRF_ALLOWED_CHARS)]
    for x in CSRF_ALLOWED_CHARS
    for y in CSRF_ALLOWED_CHARS
}


# Random characters read from the OS in blocks, per thread. A read is a system call, and a thread
# that makes one gives up the GIL and waits to take it back behind the process's other threads:
# under load, the two reads each first-time visitor needed showed as 4 % of a web process's time
# (py-spy), more than any of the page's own Python. Each character is still the OS generator's,
# used once; a block never outlives its thread, nor crosses a fork (gunicorn's workers).
_BLOCK = 4096
_stock = threading.local()


def _forget_stock() -> None:
    _stock.__dict__.clear()


os.register_at_fork(after_in_child=_forget_stock)


def _random_chars(count: int) -> str:
    """`count` characters drawn uniformly from CSRF_ALLOWED_CHARS (rejection sampling: a byte of
    248 or more is dropped), from this thread's block of the OS random generator's output."""
    chars: bytes = getattr(_stock, "chars", b"")
    while len(chars) < count:
        chars += os.urandom(_BLOCK).translate(_BYTE_TO_CHAR, _REJECTED)
    _stock.chars = chars[count:]
    return chars[:count].decode("ascii")


def csrf_token(request: HttpRequest) -> str:
    """Django's `get_token` (same secret cookie, same masked token, same request.META flags),
    taking its 64 random characters from this thread's block (`_random_chars`) instead of 64 OS
    calls: that was a sixth of the cached page's CPU, for every first-time visitor. With
    CSRF_USE_SESSIONS, Django's own."""
    if settings.CSRF_USE_SESSIONS:
        return get_token(request)
    secret = request.META.get("CSRF_COOKIE")
    if secret is None:
        secret = _random_chars(CSRF_SECRET_LENGTH)
        request.META["CSRF_COOKIE"] = secret
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    mask = _random_chars(CSRF_SECRET_LENGTH)
    return mask + "".join(map(_CIPHER.__getitem__, zip(secret, mask, strict=True)))
