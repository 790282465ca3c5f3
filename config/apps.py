"""The admin app, with our admin site (optional TOTP second factor) as its default site."""

from __future__ import annotations

from django.contrib.admin.apps import AdminConfig


class CampaignAdminConfig(AdminConfig):
    default_site = "config.admin.CampaignAdminSite"
