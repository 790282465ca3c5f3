"""The admin site: Django's, plus a TOTP second factor for staff when ADMIN_REQUIRE_OTP is on.

The setting is read on every request (not at import time), so it can be switched on in production
without code changes, and tests can turn it on and off.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminAuthenticationForm, OTPAdminSite


class CampaignAdminSite(AdminSite):
    site_header = _("Legal defense fund administration")
    site_title = _("Legal defense fund")

    @property
    def login_form(self) -> Any:  # type: ignore[override]
        return OTPAdminAuthenticationForm if settings.ADMIN_REQUIRE_OTP else None

    @property
    def login_template(self) -> Any:  # type: ignore[override]
        return OTPAdminSite.login_template if settings.ADMIN_REQUIRE_OTP else None

    def has_permission(self, request: HttpRequest) -> bool:
        allowed = super().has_permission(request)
        if allowed and settings.ADMIN_REQUIRE_OTP:
            # Staff who signed in without a code are treated as not staff until they give one.
            return bool(request.user.is_verified())  # type: ignore[union-attr]
        return allowed
