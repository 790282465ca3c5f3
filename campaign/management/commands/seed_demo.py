from django.core.management.base import BaseCommand

from campaign.services import campaign_seed_demo


class Command(BaseCommand):
    help = "Create the demo campaign (legal-defense-fund) and its first update. Idempotent."

    def handle(self, *args: object, **options: object) -> None:
        campaign, created = campaign_seed_demo()
        verb = "Created" if created else "Already there:"
        self.stdout.write(f"{verb} {campaign.title} at /campaigns/{campaign.slug}/")
