"""`audit_record`: call it from every admin action that moves or reframes money."""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from core import client_ip

from .models import MoneyAction, MoneyAuditLog


def _jsonable(detail: dict[str, Any]) -> dict[str, Any]:
    # Money, Decimal and dates become strings so the log stores exactly what was shown.
    result: dict[str, Any] = json.loads(json.dumps(detail, default=str))
    return result


def audit_record(
    *, user: Any, action: MoneyAction | str, obj: models.Model | None, detail: dict[str, Any]
) -> MoneyAuditLog:
    """Add one row to the money audit log: who (`user`, may be None for the system), what
    (`action`, one of `MoneyAction`), on which object, with the amounts involved in `detail`.

    Call it inside the same transaction as the change, so the log and the money never disagree.
    """
    authenticated = bool(user is not None and getattr(user, "is_authenticated", False))
    return MoneyAuditLog.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        action=str(action),
        object_type=obj._meta.label if obj is not None else "",
        object_id=str(obj.pk) if obj is not None and obj.pk is not None else "",
        object_repr=str(obj)[:200] if obj is not None else "",
        detail=_jsonable(detail),
        ip_address=client_ip.current(),
    )
