"""A store's test order does not make its customer a repeat customer.

Migration 0007's triggers record on each response whether the customer had ordered before;
they now look past test orders (surveys.Order.is_test), as the sending filters do. Responses
already stored keep what they recorded: a test order was never surveyed, so the only responses
it could have marked are those of a customer whose first real order followed a test order.
"""

import importlib

from django.db import migrations

cut_keys = importlib.import_module("feedback.migrations.0007_response_cut_keys")
REAL_EARLIER = "earlier.placed_at < o.placed_at AND NOT earlier.is_test"


def _statements(vendor: str, *, real_only: bool) -> list[str]:
    statements = cut_keys._statements(vendor, reverse=False)
    if real_only:
        statements = [statement.replace("earlier.placed_at < o.placed_at", REAL_EARLIER) for statement in statements]
        assert all(REAL_EARLIER in statement for statement in statements if "earlier" in statement)
    return statements


def _replace(schema_editor, *, real_only: bool) -> None:
    vendor = schema_editor.connection.vendor
    for statement in cut_keys._statements(vendor, reverse=True):
        schema_editor.execute(statement)
    for statement in _statements(vendor, real_only=real_only):
        schema_editor.execute(statement)


def forwards(apps, schema_editor):
    _replace(schema_editor, real_only=True)


def backwards(apps, schema_editor):
    _replace(schema_editor, real_only=False)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0012_alert"),
        ("surveys", "0012_order_is_test"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
