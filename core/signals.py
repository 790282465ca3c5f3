"""Signals the domain sends for changes no model signal reports.

`QuerySet.update()` sends no `post_save`, so a service that changes what public pages show that
way (moderation, erasure) says so with `public_content_changed`; `front` drops its cached pages
when the transaction commits. Domain apps never import `front`: this signal is the way across.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent with the model class as `sender`, inside the transaction that made the change.
public_content_changed = Signal()
