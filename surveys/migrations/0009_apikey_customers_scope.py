"""Personal data gets a scope of its own (`customers`). Every key made before could read and
change cases, exports and reports with read and write, so each gets `customers` too: nothing it
did before stops working, except exporting a customer with a key that cannot read (which was the
hole: POST /customers/export answered a write-only key with names, orders and answers)."""

from django.db import migrations, models

import surveys.models


def grant_customers(apps, schema_editor):
    ApiKey = apps.get_model("surveys", "ApiKey")
    for key in ApiKey.objects.exclude(scopes__icontains='"customers"'):
        if "read" in key.scopes or "write" in key.scopes:
            key.scopes = [*key.scopes, "customers"]
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0008_apikey_scopes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(
                default=surveys.models.default_api_scopes, help_text="read, write, customers, webhooks"
            ),
        ),
        migrations.RunPython(grant_customers, migrations.RunPython.noop),
    ]
