"""Emails rendered from templates/emails/<name>-subject.txt|-body.txt|-body.html, in the
reader's language (the one they used on the site), never the sender's."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation

Context = Mapping[str, object] | Callable[[], Mapping[str, object]]


def render_email(name: str, context: Mapping[str, object]) -> tuple[str, str, str]:
    subject = render_to_string(f"emails/{name}-subject.txt", context).strip().replace("\n", " ")
    text = render_to_string(f"emails/{name}-body.txt", context)
    html = render_to_string(f"emails/{name}-body.html", context)
    return subject, text, html


def email_message(
    name: str,
    context: Context,
    *,
    to: str,
    language: str,
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """One email in `language`. A callable context is built under that language too, so the
    links it reverses and the organizer's text it picks are the reader's."""
    with translation.override(language or settings.LANGUAGE_CODE):
        values = context() if callable(context) else context
        subject, text, html = render_email(name, values)
    message = EmailMultiAlternatives(subject, text, to=[to], headers=headers)
    message.attach_alternative(html, "text/html")
    return message


def email_send(
    name: str,
    context: Context,
    *,
    to: str,
    language: str,
    headers: dict[str, str] | None = None,
) -> None:
    email_message(name, context, to=to, language=language, headers=headers).send()
