"""The monthly gifts' part of the donor's page (front/views/my_gifts.py)."""

from __future__ import annotations


def monthly_rows(email: str, forms: object = None) -> list[object]:
    """The donor's monthly gifts with their forms (none until monthly gifts exist)."""
    return []
