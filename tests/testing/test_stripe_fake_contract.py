"""The Stripe fake refuses what Stripe refuses, with Stripe's own errors, read through the real SDK:
parameters checked against the SDK's generated types, idempotency keys bound to their first
parameters, the API version read, unknown endpoints unknown. And a refused request fails the test
that made it unless the test says it expects one."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import stripe

from testing.stripe_fake import API_VERSION, StripeFake
from testing.stripe_fake.contract import check
from testing.stripe_fake.server import Rejection
from tests.support import stripe_contract

pytest_plugins = ["pytester"]

KEY = "sk_test_contract"


@pytest.fixture
def fake(stripe_server: StripeFake) -> Iterator[StripeFake]:
    stripe_server.reset()
    yield stripe_server


def sdk(fake: StripeFake, stripe_version: str | None = None) -> stripe.StripeClient:
    return stripe.StripeClient(
        KEY, base_addresses={"api": fake.url}, max_network_retries=0, stripe_version=stripe_version
    )


def refusal(call: Any, *args: Any) -> Any:
    """The SDK's exception for a refused request (its `code`, `param`, `user_message`...)."""
    with pytest.raises(stripe.StripeError) as caught:
        call(*args)
    return caught.value


PAYMENT: dict[str, Any] = {
    "mode": "payment",
    "line_items": [
        {
            "quantity": 1,
            "price_data": {"currency": "cad", "unit_amount": 2500, "product_data": {"name": "F"}},
        }
    ],
    "success_url": "https://x.test/ok",
    "cancel_url": "https://x.test/no",
}


@pytest.mark.stripe_rejects
def test_an_unknown_top_level_parameter_is_refused_like_stripe(fake):
    error = refusal(
        sdk(fake).v1.checkout.sessions.create, {**PAYMENT, "payment_method_types": ["card"]}
    )

    assert isinstance(error, stripe.InvalidRequestError)
    assert error.http_status == 400
    assert error.code == "parameter_unknown"
    assert error.param == "payment_method_types"
    assert error.user_message == "Received unknown parameter: payment_method_types"
    body: Any = error.json_body
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["doc_url"].endswith("/parameter-unknown")
    assert fake.sessions == {}
    [rejection] = fake.rejections
    assert rejection == Rejection(
        "POST",
        "/v1/checkout/sessions",
        400,
        "payment_method_types",
        "Received unknown parameter: payment_method_types",
    )


@pytest.mark.stripe_rejects
def test_an_unknown_nested_parameter_names_its_full_path(fake):
    items = [{**PAYMENT["line_items"][0], "price_data": {"currency": "cad", "amount": 2500}}]

    error = refusal(sdk(fake).v1.checkout.sessions.create, {**PAYMENT, "line_items": items})

    assert error.code == "parameter_unknown"
    assert error.param == "line_items[0][price_data][amount]"


@pytest.mark.stripe_rejects
def test_a_value_outside_an_enum_is_refused_with_the_allowed_values(fake):
    error = refusal(sdk(fake).v1.checkout.sessions.create, {**PAYMENT, "submit_type": "give"})

    assert error.param == "submit_type"
    assert error.user_message == (
        "Invalid submit_type: must be one of auto, book, donate, pay, or subscribe"
    )


@pytest.mark.stripe_rejects
def test_an_integer_and_a_boolean_are_checked(fake):
    client = sdk(fake)
    bad_amount = refusal(client.v1.refunds.create, {"payment_intent": "pi_1", "amount": "12.50"})
    bad_flag = refusal(
        client.v1.payment_intents.create,
        {"amount": 100, "currency": "cad", "confirm": "yes", "return_url": "https://x.test"},
    )

    assert (bad_amount.code, bad_amount.param) == ("parameter_invalid_integer", "amount")
    assert bad_amount.user_message == "Invalid integer: 12.50"
    assert (bad_flag.param, bad_flag.user_message) == ("confirm", "Invalid boolean: yes")


@pytest.mark.stripe_rejects
def test_a_missing_required_parameter_is_refused(fake):
    error = refusal(sdk(fake).v1.payment_intents.create, {"amount": 100})

    assert (error.code, error.param) == ("parameter_missing", "currency")
    assert error.user_message == "Missing required param: currency."


@pytest.mark.stripe_rejects
def test_confirming_off_session_without_return_url_or_allow_redirects_is_refused(fake):
    error = refusal(
        sdk(fake).v1.payment_intents.create,
        {"amount": 100, "currency": "cad", "payment_method": "pm_1", "off_session": True,
         "confirm": True},
    )  # fmt: skip

    assert isinstance(error, stripe.InvalidRequestError)
    assert "you must provide a `return_url`" in str(error.user_message)
    assert fake.intents == {}


def test_metadata_expand_and_request_options_are_not_refused(fake):
    client = sdk(fake)
    customer = client.v1.customers.create(
        {"email": "a@example.ca", "metadata": {"pledge": "p1", "any key": "any value"}},
        {"idempotency_key": "k-customer"},
    )
    events = client.v1.events.list({"types": ["charge.refunded"], "created": {"gte": 1}})

    assert customer.id.startswith("cus_")
    assert events.data == []
    assert fake.rejections == []


@pytest.mark.stripe_rejects
def test_a_key_reused_with_other_parameters_is_an_idempotency_error(fake):
    client = sdk(fake)
    english: Any = {**PAYMENT, "locale": "en"}
    client.v1.checkout.sessions.create(english, {"idempotency_key": "k1"})

    error = refusal(
        client.v1.checkout.sessions.create,
        {**PAYMENT, "locale": "fr"},
        {"idempotency_key": "k1"},
    )

    assert isinstance(error, stripe.IdempotencyError)
    assert error.http_status == 400
    assert error.user_message == (
        "Keys for idempotent requests can only be used with the same parameters they were first "
        "used with. Try using a key other than 'k1' if you meant to execute a different request."
    )
    assert len(fake.sessions) == 1


def test_a_key_reused_with_the_same_parameters_replays_the_first_answer(fake):
    headers = {
        "Authorization": f"Bearer {KEY}",
        "Stripe-Version": API_VERSION,
        "Idempotency-Key": "k2",
    }
    body = {"email": "a@example.ca", "metadata[pledge]": "p1"}
    first = requests.post(f"{fake.url}/v1/customers", data=body, headers=headers, timeout=5)
    again = requests.post(f"{fake.url}/v1/customers", data=body, headers=headers, timeout=5)

    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert first.headers["Stripe-Version"] == API_VERSION
    assert len(fake.customers) == 1


@pytest.mark.stripe_rejects
@pytest.mark.parametrize("version", ["2025-09-30.clover", "2019-2-19"])
def test_an_api_version_the_fake_does_not_speak_is_refused(fake, version):
    error = refusal(sdk(fake, stripe_version=version).v1.customers.create, {"email": "a@b.ca"})

    assert isinstance(error, stripe.InvalidRequestError)
    assert str(error.user_message).startswith(f"Invalid Stripe API version: {version}")
    headers: Any = error.headers
    assert headers["Stripe-Version"] == version  # echoed, as Stripe does
    assert fake.customers == {}


@pytest.mark.stripe_rejects
def test_an_endpoint_the_fake_does_not_map_is_unrecognized(fake):
    error = refusal(sdk(fake).v1.charges.retrieve, "ch_1")

    assert error.http_status == 404
    assert error.user_message == "Unrecognized request URL (GET: /v1/charges/ch_1)."


def test_the_table_reads_the_installed_sdk_types():
    # A removed parameter anywhere in the tree, an empty value, a free metadata dict.
    assert check("checkout.SessionCreateParams", {"mode": "setup", "currency": "cad"}) is None
    empty = check("checkout.SessionCreateParams", {"customer_email": ""})
    assert empty is not None and empty.code == "parameter_invalid_empty"
    setup = check("checkout.SessionCreateParams", {"mode": "setup"})
    assert setup is not None and (setup.code, setup.param) == ("parameter_missing", "currency")
    bad_meta = check("RefundCreateParams", {"metadata": {"a": {"b": "c"}}})
    assert bad_meta is not None and bad_meta.param == "metadata[a]"


def test_a_refused_request_fails_the_test_that_did_not_expect_it():
    rejection = Rejection("POST", "/v1/refunds", 400, "amount", "Invalid integer: x")

    with pytest.raises(pytest.fail.Exception) as failed:
        stripe_contract.hold_to_contract([rejection], expected=False)
    stripe_contract.hold_to_contract([rejection], expected=True)  # marked: passes
    stripe_contract.hold_to_contract([], expected=False)

    assert "POST /v1/refunds -> 400 Invalid integer: x (param amount)" in str(failed.value)
    assert "@pytest.mark.stripe_rejects" in str(failed.value)


A_RUN = """
import pytest
import stripe

from tests.conftest import _stripe_contract, stripe_server  # noqa: F401  the project's fixtures


def refused(fake):
    client = stripe.StripeClient("sk_test_x", base_addresses={"api": fake.url})
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create({"payment_intent": "pi_1", "amount": "ten"})


def test_unexpected(stripe_server):
    refused(stripe_server)


@pytest.mark.stripe_rejects
def test_expected(stripe_server):
    refused(stripe_server)
"""


@pytest.mark.stripe_rejects  # the inner run's refusals are this process's too
def test_the_autouse_check_fails_a_run_that_made_an_unexpected_refused_request(pytester):
    pytester.makepyfile(A_RUN)

    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "-p", "no:django")

    result.assert_outcomes(passed=2, errors=1)  # the unexpected one errors at teardown
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_unexpected*"])
    result.stdout.fnmatch_lines(["*POST /v1/refunds -> 400 Invalid integer: ten (param amount)*"])


def test_the_fake_speaks_the_version_the_sdk_is_pinned_to():
    assert API_VERSION == stripe.api_version == "2026-10-28.endive"
