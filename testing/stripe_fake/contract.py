"""Stripe's request contract, read from the installed SDK: which endpoints exist and which
parameters each one takes.

`ENDPOINTS` maps each (method, path) the fake serves to the SDK's generated parameter TypedDict
for it (`stripe/params/...`). `check()` walks a decoded form body against that type, recursively,
the way Stripe's API does, and answers Stripe's own error for the first problem: an unknown
parameter (`parameter_unknown`), a missing required one (`parameter_missing`), an integer or a
boolean that is not one, a value outside an enum, an empty string where nothing can be unset.
The types are read at run time (`typing.get_type_hints`), so upgrading the SDK upgrades the check.

`REMOVED` lists parameters Stripe's changelog removed that the SDK's types may still carry.
"""

from __future__ import annotations

import functools
import importlib
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, NotRequired, Required, Union, get_args, get_origin

import typing_extensions

ID = r"[\w-]+"

# One row per endpoint the fake serves: (method, path pattern, params TypedDict in stripe.params).
# Adding an endpoint to the fake is one row here plus its handler in a mixin.
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("POST", "/v1/checkout/sessions", "checkout.SessionCreateParams"),
    ("GET", "/v1/checkout/sessions", "checkout.SessionListParams"),
    ("GET", f"/v1/checkout/sessions/{ID}", "checkout.SessionRetrieveParams"),
    ("POST", "/v1/customers", "CustomerCreateParams"),
    ("GET", f"/v1/setup_intents/{ID}", "SetupIntentRetrieveParams"),
    ("POST", "/v1/payment_intents", "PaymentIntentCreateParams"),
    ("GET", f"/v1/payment_intents/{ID}", "PaymentIntentRetrieveParams"),
    ("POST", f"/v1/payment_intents/{ID}/cancel", "PaymentIntentCancelParams"),
    ("POST", f"/v1/payment_methods/{ID}/detach", "PaymentMethodDetachParams"),
    ("POST", "/v1/refunds", "RefundCreateParams"),
    ("GET", f"/v1/balance_transactions/{ID}", "BalanceTransactionRetrieveParams"),
    ("GET", "/v1/events", "EventListParams"),
    ("GET", f"/v1/subscriptions/{ID}", "SubscriptionRetrieveParams"),
    ("POST", f"/v1/subscriptions/{ID}", "SubscriptionUpdateParams"),
    ("GET", f"/v1/invoices/{ID}", "InvoiceRetrieveParams"),
)

# Parameters removed by an API version the pinned SDK's types have not caught up with, per params
# class: {"checkout.SessionCreateParams": {"payment_method_types": "2026-09-30.endive"}}. Empty:
# stripe 16.1.0 (2026-10-28.endive) already dropped Checkout's `payment_method_types`.
REMOVED: dict[str, dict[str, str]] = {}

DOCS = "https://docs.stripe.com/error-codes"


@dataclass(frozen=True)
class Violation:
    """One reason Stripe would refuse the request, as its error envelope says it."""

    message: str
    param: str = ""
    code: str = ""

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": "invalid_request_error", "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def endpoint_for(method: str, path: str) -> str | None:
    """The params class name for a request, or None when Stripe has no such endpoint here."""
    for row_method, pattern, params in ENDPOINTS:
        if row_method == method and re.fullmatch(pattern, path):
            return params
    return None


@functools.cache
def params_class(name: str) -> Any:
    module = importlib.import_module("stripe.params")
    *package, cls = name.split(".")
    for part in package:
        module = getattr(module, part)
    return getattr(module, cls)


@functools.cache
def _fields(typed_dict: Any) -> tuple[dict[str, Any], frozenset[str]]:
    """A TypedDict's body fields (request options left out) and which of them are required."""
    from stripe import _request_options
    from stripe._request_options import RequestOptions
    from stripe._stripe_context import StripeContext

    # RequestOptions' annotations name types imported only for type checkers.
    names = {**vars(_request_options), "StripeContext": StripeContext}
    hints = typing.get_type_hints(typed_dict, localns=names, include_extras=True)
    options = set(RequestOptions.__annotations__)
    fields = {k: v for k, v in hints.items() if k not in options}
    return fields, frozenset(typed_dict.__required_keys__) - options


def check(params_name: str, params: dict[str, Any]) -> Violation | None:
    cls = params_class(params_name)
    for key in REMOVED.get(params_name, {}):
        if key in params:
            return _unknown(key)  # as Stripe answers a parameter its version no longer has
    problem = _check_object(cls, params, "")
    for rule in RULES.get(params_name, ()):
        problem = problem or rule(params)
    return problem


# --- what Stripe requires beyond the types: parameters that depend on each other ----------------


def _confirm_needs_return_url(params: dict[str, Any]) -> Violation | None:
    """Confirming at creation with the Dashboard's payment methods (some redirect) needs a
    `return_url`, unless redirects are refused."""
    automatic = params.get("automatic_payment_methods") or {}
    no_redirects = (automatic.get("enabled"), automatic.get("allow_redirects")) == ("true", "never")
    if (
        params.get("confirm") != "true"
        or params.get("return_url")
        or no_redirects
        or params.get("allowed_payment_method_types")
    ):
        return None
    return Violation(
        "This PaymentIntent is configured to accept payment methods enabled in your Dashboard. "
        "Because some of these payment methods might redirect your customer off of your page, "
        "you must provide a `return_url`. If you don't want to accept redirect-based payment "
        "methods, set `automatic_payment_methods[enabled]` to `true` and "
        "`automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents "
        "and Payment Intents."
    )


def _setup_needs_currency(params: dict[str, Any]) -> Violation | None:
    """`SessionCreateParams.currency`: required in setup mode without
    `allowed_payment_method_types`."""
    if params.get("mode") != "setup" or params.get("currency"):
        return None
    if params.get("allowed_payment_method_types"):
        return None
    return Violation("Missing required param: currency.", "currency", "parameter_missing")


RULES: dict[str, tuple[Callable[[dict[str, Any]], Violation | None], ...]] = {
    "PaymentIntentCreateParams": (_confirm_needs_return_url,),
    "checkout.SessionCreateParams": (_setup_needs_currency,),
}


def _path(prefix: str, key: str | int) -> str:
    return f"{prefix}[{key}]" if prefix else str(key)


def _unknown(param: str) -> Violation:
    return Violation(f"Received unknown parameter: {param}", param, "parameter_unknown")


def _check_object(typed_dict: Any, value: Any, where: str) -> Violation | None:
    if not isinstance(value, dict):
        return Violation(f"Invalid object: {where}", where, "parameter_invalid_object")
    fields, required = _fields(typed_dict)
    for key in value:
        if key not in fields:
            return _unknown(_path(where, key))
    for key in sorted(required):
        if key not in value:
            return Violation(
                f"Missing required param: {_path(where, key)}.",
                _path(where, key),
                "parameter_missing",
            )
    for key, item in value.items():
        problem = _check_value(fields[key], item, _path(where, key))
        if problem:
            return problem
    return None


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) in (NotRequired, Required, typing.Annotated):
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _check_value(annotation: Any, value: Any, where: str) -> Violation | None:
    members = [m for m in _members(annotation) if m is not type(None)]
    literals = [v for m in members if get_origin(m) is Literal for v in get_args(m)]
    others = [m for m in members if get_origin(m) is not Literal]
    if isinstance(value, str) and value in literals:
        return None
    # The SDK types an enum as `Literal[...] | str` so a new value does not break old code;
    # Stripe itself still accepts only the listed values.
    enum = [v for v in literals if v != ""]
    if enum and str in others:
        others = [m for m in others if m is not str]
        if isinstance(value, str) and not others:
            return _not_one_of(enum, where)
    if value == "" and "" not in literals:
        return Violation(
            f"You passed an empty string for '{where}'. We assume empty values are an attempt to "
            f"unset a parameter; however '{where}' cannot be unset. You should remove '{where}' "
            "from your request or supply a non-empty value.",
            where,
            "parameter_invalid_empty",
        )
    if not others:
        return _not_one_of(enum, where) if enum else None
    first: Violation | None = None
    for member in _shaped_first(others, value):
        problem = _check_one(member, value, where)
        if problem is None:
            return None
        first = first or problem
    if enum and isinstance(value, str):
        return _not_one_of(enum, where)
    return first


def _shaped_first(members: list[Any], value: Any) -> list[Any]:
    """Try the members that can hold this shape of value first, for the clearest error."""

    def fits(member: Any) -> bool:
        origin = get_origin(member) or member
        if isinstance(value, dict):
            return _is_typed_dict(member) or origin is dict or _is_untyped(member)
        if isinstance(value, list):
            return origin is list
        return not (_is_typed_dict(member) or origin in (dict, list))

    return sorted(members, key=lambda m: not fits(m))


def _is_typed_dict(member: Any) -> bool:
    return isinstance(member, type) and typing_extensions.is_typeddict(member)


def _is_untyped(member: Any) -> bool:
    return "UntypedStripeObject" in getattr(get_origin(member) or member, "__name__", "")


def _check_one(member: Any, value: Any, where: str) -> Violation | None:
    origin = get_origin(member)
    if _is_typed_dict(member):
        return _check_object(member, value, where)
    if origin is list:
        if not isinstance(value, list):
            return Violation(f"Invalid array: {where}", where, "parameter_invalid_array")
        (item_type,) = get_args(member) or (Any,)
        for index, item in enumerate(value):
            problem = _check_value(item_type, item, _path(where, index))
            if problem:
                return problem
        return None
    if origin is dict or _is_untyped(member):
        # metadata and the like: free keys, string values
        if not isinstance(value, dict):
            return Violation(f"Invalid object: {where}", where, "parameter_invalid_object")
        for key, item in value.items():
            if not isinstance(item, str):
                return Violation(
                    f"Invalid value for {_path(where, key)}: must be a string.",
                    _path(where, key),
                )
        return None
    if not isinstance(value, str):
        return Violation(f"Invalid {where}: expected a single value.", where)
    if member is bool:
        if value in ("true", "false"):
            return None
        return Violation(f"Invalid boolean: {value}", where)
    if member is int:
        if re.fullmatch(r"-?\d+", value):
            return None
        return Violation(f"Invalid integer: {value}", where, "parameter_invalid_integer")
    if member in (float, Decimal):
        try:
            Decimal(value)
        except InvalidOperation:
            return Violation(f"Invalid decimal: {value}", where)
        return None
    return None  # str, Any and the rest take any single value


def _not_one_of(values: list[Any], where: str) -> Violation:
    shown = [str(v) for v in values]
    if len(shown) <= 2:
        listed = " or ".join(shown)
    else:
        listed = ", ".join(shown[:-1]) + f", or {shown[-1]}"
    return Violation(f"Invalid {where}: must be one of {listed}", where)
