"""An order's customer, and an invitation's customer, order and survey, are the shop's own.

Checked by the database, so no way of writing a row can link two shops (the admin once let a
shop's agent point an order at another shop's customer, and email that customer this shop's
survey). Triggers, as a foreign key cannot say "of the same shop" without a second column.
"""

from django.db import migrations

ORDER_ACROSS = "EXISTS (SELECT 1 FROM surveys_customer c WHERE c.id = NEW.customer_id AND c.shop_id <> NEW.shop_id)"
INVITATION_ACROSS = """(
    EXISTS (SELECT 1 FROM surveys_customer c WHERE c.id = NEW.customer_id AND c.shop_id <> NEW.shop_id)
    OR EXISTS (SELECT 1 FROM surveys_order o WHERE o.id = NEW.order_id AND o.shop_id <> NEW.shop_id)
    OR EXISTS (SELECT 1 FROM surveys_survey s WHERE s.id = NEW.survey_id AND s.shop_id <> NEW.shop_id)
)"""
ORDER_MESSAGE = "an order and its customer must belong to one shop"
INVITATION_MESSAGE = "an invitation, its customer, order and survey must belong to one shop"
# (table, trigger name, columns whose change is checked, test, message)
CHECKS = [
    ("surveys_order", "surveys_order_one_shop", "shop_id, customer_id", ORDER_ACROSS, ORDER_MESSAGE),
    ("surveys_invitation", "surveys_invitation_one_shop", "shop_id, customer_id, order_id, survey_id",
     INVITATION_ACROSS, INVITATION_MESSAGE),
]  # fmt: skip


def _postgresql() -> tuple[list[str], list[str]]:
    forward, reverse = [], []
    for table, name, columns, across, message in CHECKS:
        forward += [
            f"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF {across} THEN
                    RAISE EXCEPTION '{message}' USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
            END $$
            """,
            f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE OF {columns} ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {name}()",
        ]
        reverse += [f"DROP TRIGGER IF EXISTS {name} ON {table}", f"DROP FUNCTION IF EXISTS {name}()"]
    return forward, reverse


def _sqlite() -> tuple[list[str], list[str]]:
    forward, reverse = [], []
    for table, name, columns, across, message in CHECKS:
        for event, suffix in (("INSERT", "insert"), (f"UPDATE OF {columns}", "update")):
            forward.append(
                f"CREATE TRIGGER {name}_{suffix} BEFORE {event} ON {table} WHEN {across} "
                f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
            )
            reverse.append(f"DROP TRIGGER IF EXISTS {name}_{suffix}")
    return forward, reverse


def _statements(vendor: str) -> tuple[list[str], list[str]]:
    if vendor == "postgresql":
        return _postgresql()
    if vendor == "sqlite":
        return _sqlite()
    raise NotImplementedError(f"the one-shop checks need triggers written for {vendor}")


def create(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor)[0]:
        schema_editor.execute(statement)


def drop(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor)[1]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0009_apikey_customers_scope"),
    ]

    operations = [migrations.RunPython(create, drop)]
