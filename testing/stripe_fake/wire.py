"""Stripe's wire format: webhook signatures, form-encoded parameters, errors, list pages, fees."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from typing import Any


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header made the way Stripe makes it."""
    ts = int(time.time()) if timestamp is None else timestamp
    signed = f"{ts}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={ts},v1={digest}"


def unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Turn Stripe's `a[b][0][c]=v` form encoding back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node: Any = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt = parts[i + 1] if not last else None
            if isinstance(node, list):
                index = int(part)
                while len(node) <= index:
                    node.append({} if nxt is not None and not nxt.isdigit() else [])
                if last:
                    node[index] = value
                else:
                    if not isinstance(node[index], (dict, list)) or (
                        nxt is not None and nxt.isdigit() and not isinstance(node[index], list)
                    ):
                        node[index] = [] if nxt is not None and nxt.isdigit() else {}
                    node = node[index]
            else:
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, [] if nxt is not None and nxt.isdigit() else {})
    return root


def stripe_fee_cents(amount: int) -> int:
    """Stripe's Canadian card fee, 2.9 % + 30¢, rounded half up to the cent."""
    return (amount * 29 + 500) // 1000 + 30


def error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, **extra}}


def created_since(items: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
    """Stripe's `created[gte]` list filter."""
    created = params.get("created")
    if isinstance(created, dict) and created.get("gte"):
        return [i for i in items if int(i.get("created") or 0) >= int(created["gte"])]
    return items


def page_of(url: str, items: list[dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
    limit = int(params.get("limit") or 10)
    start = 0
    if params.get("starting_after"):
        ids = [i["id"] for i in items]
        start = (
            ids.index(params["starting_after"]) + 1
            if params["starting_after"] in ids
            else len(items)
        )
    page = items[start : start + limit]
    return {"object": "list", "url": url, "has_more": start + limit < len(items), "data": page}
