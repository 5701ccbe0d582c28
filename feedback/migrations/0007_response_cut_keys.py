"""Response.channel and Response.repeat_customer: what the NPS cuts group by, recorded on the response.

Cut by channel, a million answers were joined to a million responses and then to a million
invitations; cut by first-time or repeat customer, to orders as well, with a look for an
earlier order on every row: one to four seconds on PostgreSQL. Recorded on the response, the
cuts join answers to responses only.

The database fills both, so no way of storing a response can miss them (the bench stores a
million with INSERT … SELECT): a trigger copies the invitation's channel and looks for an
earlier order of the customer when the response is inserted. They stay as they were then: a
later write to either is undone (the invitation of a response never changes; if it ever did,
both would be worked out again). Existing responses are filled from the orders known now.
"""

from django.db import migrations, models

# Portable SQL (PostgreSQL and SQLite): the invitation's channel, and whether the customer of
# the invitation's order had placed an earlier one. The same rule as the sending filters.
CHANNEL_OF = "(SELECT i.channel FROM surveys_invitation i WHERE i.id = {invitation})"
REPEAT_OF = """EXISTS (
    SELECT 1 FROM surveys_invitation i
    JOIN surveys_order o ON o.id = i.order_id
    JOIN surveys_order earlier ON earlier.customer_id = o.customer_id AND earlier.placed_at < o.placed_at
    WHERE i.id = {invitation}
)"""

BACKFILL = f"""
    UPDATE feedback_response SET
        channel = {CHANNEL_OF.format(invitation="feedback_response.invitation_id")},
        repeat_customer = {REPEAT_OF.format(invitation="feedback_response.invitation_id")}
"""  # noqa: S608 - made of the constants above, nothing from outside

POSTGRESQL = [
    f"""
    CREATE FUNCTION feedback_response_record_cut_keys() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' OR NEW.invitation_id IS DISTINCT FROM OLD.invitation_id THEN
            NEW.channel := {CHANNEL_OF.format(invitation="NEW.invitation_id")};
            NEW.repeat_customer := {REPEAT_OF.format(invitation="NEW.invitation_id")};
        ELSE
            NEW.channel := OLD.channel;
            NEW.repeat_customer := OLD.repeat_customer;
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER feedback_response_record_cut_keys
        BEFORE INSERT OR UPDATE OF invitation_id, channel, repeat_customer ON feedback_response
        FOR EACH ROW EXECUTE FUNCTION feedback_response_record_cut_keys()
    """,
]
POSTGRESQL_REVERSE = [
    "DROP TRIGGER IF EXISTS feedback_response_record_cut_keys ON feedback_response",
    "DROP FUNCTION IF EXISTS feedback_response_record_cut_keys()",
]

# SQLite has no BEFORE trigger that can change the row: these write it again after. Its
# recursive triggers are off, so a trigger's own UPDATE does not fire it again; but the first's
# fires the second, which leaves alone a row not yet filled (channel still null).
SQLITE = [
    f"""
    CREATE TRIGGER feedback_response_record_cut_keys AFTER INSERT ON feedback_response
    BEGIN
        UPDATE feedback_response SET
            channel = {CHANNEL_OF.format(invitation="NEW.invitation_id")},
            repeat_customer = {REPEAT_OF.format(invitation="NEW.invitation_id")}
        WHERE id = NEW.id;
    END
    """,  # noqa: S608
    f"""
    CREATE TRIGGER feedback_response_keep_cut_keys
        AFTER UPDATE OF invitation_id, channel, repeat_customer ON feedback_response
        WHEN OLD.channel IS NOT NULL
    BEGIN
        UPDATE feedback_response SET
            channel = CASE WHEN NEW.invitation_id IS OLD.invitation_id THEN OLD.channel
                ELSE {CHANNEL_OF.format(invitation="NEW.invitation_id")} END,
            repeat_customer = CASE WHEN NEW.invitation_id IS OLD.invitation_id THEN OLD.repeat_customer
                ELSE {REPEAT_OF.format(invitation="NEW.invitation_id")} END
        WHERE id = NEW.id;
    END
    """,  # noqa: S608
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS feedback_response_keep_cut_keys",
    "DROP TRIGGER IF EXISTS feedback_response_record_cut_keys",
]


def _statements(vendor: str, *, reverse: bool) -> list[str]:
    if vendor == "postgresql":
        return POSTGRESQL_REVERSE if reverse else POSTGRESQL
    if vendor == "sqlite":
        return SQLITE_REVERSE if reverse else SQLITE
    raise NotImplementedError(f"the cut keys need triggers written for {vendor}")


def fill_and_keep(apps, schema_editor):
    # Filled before the triggers exist: they would undo the backfill's writes.
    schema_editor.execute(BACKFILL)
    for statement in _statements(schema_editor.connection.vendor, reverse=False):
        schema_editor.execute(statement)


def drop_triggers(apps, schema_editor):
    for statement in _statements(schema_editor.connection.vendor, reverse=True):
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0006_recovery_survey"),
    ]

    operations = [
        migrations.AddField(
            model_name="response",
            name="channel",
            field=models.CharField(
                choices=[("email", "Email"), ("sms", "SMS")], editable=False, max_length=10, null=True
            ),
        ),
        migrations.AddField(
            model_name="response",
            name="repeat_customer",
            field=models.BooleanField(editable=False, null=True),
        ),
        migrations.RunPython(fill_and_keep, drop_triggers),
    ]
