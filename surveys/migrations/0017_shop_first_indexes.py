"""An index on a shop's counted orders by customer, with their totals: the value tiers read one
shop's spend from it alone (issue 22, item 4). AddIndex only: the orders table keeps its triggers."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0016_import_mapping"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("cancelled_at__isnull", True), ("is_test", False)),
                fields=["shop", "customer"],
                include=["total"],
                name="order_shop_spend_idx",
            ),
        ),
    ]
