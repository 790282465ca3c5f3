"""Property-based fuzzing of every public form and query parameter: arbitrary text, unicode,
huge values, exponents, locale formats and control characters never cause a 500, and invalid
input never creates a row."""

from __future__ import annotations

from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode

import pytest
from django.apps import apps
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from donations.models import Donation
from tests.security.public_urls import public_get_urls
from tests.support.factories import UpdateFactory

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)

NASTY = st.sampled_from(
    [
        "", " ", "0", "-1", "-25", "1e3", "1E-2", "NaN", "nan", "Infinity", "-inf", "1e309",
        "25.005", "25,50", "1 000,00 $", "1,000.00", "$25", "25$", "٣٠", "２５", "0x19", "25\x00",
        "\x00", "\u202e52", "9" * 400, "10000.01", "10000", "2", "1.99", "<script>", "' OR 1=1--",
        "a" * 5000, "\ud7ff", "🙂" * 50, "\r\n\t", "%00", "../../etc/passwd",
    ]
)  # fmt: skip
TEXT = st.one_of(NASTY, st.text(max_size=300), st.text(alphabet=st.characters(), max_size=50))
VALUES = st.one_of(st.none(), TEXT)


def _client() -> Client:
    return Client(raise_request_exception=False)


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for app in ("campaign", "donations", "audit")
        for model in apps.get_app_config(app).get_models()
    }


def _post_data(fields: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in fields.items() if v is not None}


@FUZZ
@given(
    st.fixed_dictionaries(
        {
            name: VALUES
            for name in (
                "amount", "display_name", "message", "email", "shown_as", "show_amount",
                "cover_fees", "anonymous", "website",
            )
        }
    )
)  # fmt: skip
def test_donation_form_never_500_and_invalid_input_creates_nothing(campaign, fields):
    before = Donation.objects.count()

    response = _client().post(f"/campaigns/{campaign.slug}/donate/", _post_data(fields))

    assert response.status_code in (303, 400), response.status_code
    created = Donation.objects.count() - before
    if response.status_code == 400:
        assert created == 0
    else:
        assert created == 1
        donation = Donation.objects.order_by("-id").first()
        assert donation is not None
        assert Decimal("2.00") <= donation.amount.amount <= Decimal("10000.00") * Decimal("1.05")
        assert donation.amount.amount == donation.amount.amount.quantize(Decimal("0.01"))


class FormFinder(HTMLParser):
    """The POST forms of a page, with the names of their fields."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, set[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "").lower() == "post":
            self.forms.append((a.get("action", ""), set()))
        elif tag in ("input", "textarea", "select", "button") and self.forms and a.get("name"):
            if a["name"] != "csrfmiddlewaretoken":
                self.forms[-1][1].add(a["name"])


def _public_forms(slug: str) -> dict[str, set[str]]:
    forms: dict[str, set[str]] = {}
    client = _client()
    for url in public_get_urls(slug=slug, update_slug="news"):
        response = client.get(url)
        if "html" not in response.get("Content-Type", ""):
            continue
        finder = FormFinder()
        finder.feed(response.content.decode())
        for action, names in finder.forms:
            forms.setdefault(action or url, set()).update(names)
    return forms


@pytest.fixture
def page_forms(campaign):
    UpdateFactory.create(campaign=campaign, slug="news")
    forms = _public_forms(campaign.slug)
    assert f"/campaigns/{campaign.slug}/donate/" in forms
    return forms


def test_every_public_form_survives_fuzzing(campaign, page_forms):
    @FUZZ
    @given(data=st.data())
    def run(data):
        for action, names in sorted(page_forms.items()):
            fields = {name: data.draw(VALUES, label=f"{action}:{name}") for name in sorted(names)}
            before = _row_counts()
            response = _client().post(action, _post_data(fields))
            assert response.status_code < 500, (action, fields)
            if 400 <= response.status_code < 500:
                assert _row_counts() == before, (action, fields)

    run()


def test_query_parameters_of_public_pages_never_500(campaign):
    UpdateFactory.create(campaign=campaign, slug="news")
    urls = public_get_urls(slug=campaign.slug, update_slug="news")

    keys = st.one_of(
        NASTY, st.sampled_from(["page", "session_id", "lang", "next"]), st.text(max_size=20)
    )

    @FUZZ
    @given(params=st.dictionaries(keys, TEXT, max_size=4))
    def run(params):
        before = _row_counts()
        for url in urls:
            query = urlencode({k.replace("\x00", ""): v for k, v in params.items()})
            response = _client().get(f"{url}?{query}")
            assert response.status_code < 500, (url, params)
        assert _row_counts() == before

    run()


@FUZZ
@given(public_id=TEXT, session_id=TEXT)
def test_donation_pages_with_garbage_ids_never_500(campaign, public_id, session_id):
    client = _client()
    for path in ("thanks", "cancelled", "pay", "retry"):
        response = client.get(
            f"/donations/{public_id}/{path}/?" + urlencode({"session_id": session_id})
        )
        assert response.status_code < 500
