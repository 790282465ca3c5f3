from django.db import migrations, models


def hide_pledged_amounts(apps, schema_editor):
    # The pledge form never asked: gifts that came from pledges stop showing their amount.
    Donation = apps.get_model("donations", "Donation")
    Donation.objects.filter(pledge__isnull=False).update(show_amount=False)


class Migration(migrations.Migration):
    dependencies = [
        ("donations", "0007_stripeevent_traceback"),
    ]

    operations = [
        migrations.AddField(
            model_name="pledge",
            name="show_amount",
            field=models.BooleanField(
                default=False,
                help_text="The pledger asked to show the amount on the list of supporters once "
                "charged.",
                verbose_name="show amount publicly",
            ),
        ),
        migrations.RunPython(hide_pledged_amounts, migrations.RunPython.noop),
    ]
