"""Customers beyond creating one, for the Stripe fake: `DELETE /v1/customers/{id}`.

Mixed into `StripeFake` (a module of its own so the other endpoint families stay as they are).
Stripe answers a deleted customer as `{"id", "object": "customer", "deleted": true}`, detaches its
payment methods, and answers 404 `resource_missing` for a customer it does not have (or no longer).
"""

from __future__ import annotations

import re
from typing import Any


class CustomersExtraMixin:
    lock: Any
    customers: dict[str, dict[str, Any]]
    payment_methods: dict[str, dict[str, Any]]

    def customers_extra_route(
        self, method: str, path: str, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any]] | None:
        m = re.fullmatch(r"/v1/customers/([\w-]+)", path)
        if m and method == "DELETE":
            return self._customer_delete(m.group(1))
        return None

    def _customer_delete(self, customer_id: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            if self.customers.pop(customer_id, None) is None:
                return 404, {
                    "error": {
                        "type": "invalid_request_error",
                        "message": f"No such customer: '{customer_id}'",
                        "code": "resource_missing",
                        "param": "id",
                    }
                }
            for pm in self.payment_methods.values():
                if pm.get("customer") == customer_id:
                    pm["customer"] = None
        return 200, {"id": customer_id, "object": "customer", "deleted": True}
