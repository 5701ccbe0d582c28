"""Order.is_test: a store's test order is kept, never surveyed, never counted.

On SQLite, Django adds a NOT NULL column by rebuilding the table, which would drop the one-shop
triggers on surveys_order and break those on surveys_invitation (migration 0010). SQLite can
add this column in place, its default being a constant, so it is added in place on both.
"""

from django.db import migrations, models

FIELD = models.BooleanField(
    "test order", default=False, db_default=False, help_text="A store's test order: never surveyed or counted."
)


# What Django's AddField would write, minus SQLite's rebuild.
ADD = {
    "sqlite": 'ALTER TABLE "surveys_order" ADD COLUMN "is_test" bool DEFAULT 0 NOT NULL',
    "postgresql": 'ALTER TABLE "surveys_order" ADD COLUMN "is_test" boolean DEFAULT false NOT NULL',
}


def add_column(apps, schema_editor):
    schema_editor.execute(ADD[schema_editor.connection.vendor])


def drop_column(apps, schema_editor):
    schema_editor.execute('ALTER TABLE "surveys_order" DROP COLUMN "is_test"')


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0011_order_number"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddField(model_name="order", name="is_test", field=FIELD.clone())],
            database_operations=[migrations.RunPython(add_column, drop_column)],
        ),
    ]
