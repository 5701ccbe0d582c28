"""Stored phone numbers in one form, E.164 (surveys.phones), as every way in now stores them.

Customers' numbers and the suppression list's are rewritten, each read in its shop's region.
Two customers of a shop whose numbers turn out to be one ("+98 912 123 4567" and "09121234567")
are one customer where at most one of them has an email: the other's orders, invitations and
answers move to the one kept, which takes a name or consent it lacked. Two with different emails
sharing a number (a family's, an office's) stay two: the number stays with the first, as a new
order's shared number does. A number that cannot be read is left as it was typed.

An erased customer's number is kept only as a one-way hash of how it was typed; it cannot be
rewritten, so the suppression matches that spelling alone (an erasure from now on matches all).
"""

from django.db import migrations

from surveys import phones


def normalise_stored_phones(apps, schema_editor):
    Shop = apps.get_model("surveys", "Shop")
    Customer = apps.get_model("surveys", "Customer")
    Suppression = apps.get_model("surveys", "Suppression")
    moved = [
        apps.get_model("surveys", "Order"),
        apps.get_model("surveys", "Invitation"),
        apps.get_model("surveys", "Erasure"),
        apps.get_model("feedback", "Response"),
    ]
    for shop in Shop.objects.all():
        region = phones.region_of(shop)
        groups: dict[str, list] = {}
        for customer in Customer.objects.filter(shop=shop).exclude(phone="").order_by("pk"):
            groups.setdefault(phones.normal_or_as_typed(customer.phone, region), []).append(customer)
        changing = {number: group for number, group in groups.items() if len(group) > 1 or group[0].phone != number}
        # Freed first, then set: one customer's old spelling may be another's normal form.
        Customer.objects.filter(pk__in=[c.pk for group in changing.values() for c in group]).update(phone="")
        for number, group in changing.items():
            holder = group[0]
            for customer in group[1:]:
                if customer.email and holder.email:
                    continue  # two people sharing a number: it stays with the first
                keeper, other = (customer, holder) if customer.email else (holder, customer)
                for model in moved:
                    model.objects.filter(customer_id=other.pk).update(customer_id=keeper.pk)
                keeper.name = keeper.name or other.name
                newer = other.consent_at is not None and (
                    keeper.consent_at is None or other.consent_at > keeper.consent_at
                )
                if other.consent and (newer or not keeper.consent):
                    keeper.consent, keeper.consent_at = other.consent, other.consent_at
                    keeper.consent_source = other.consent_source
                Customer.objects.filter(pk=other.pk).delete()
                holder = keeper
            holder.phone = number
            holder.save(update_fields=["name", "consent", "consent_at", "consent_source", "phone"])
        listed: dict[str, list] = {}
        for suppression in Suppression.objects.filter(shop=shop, channel="sms").order_by("pk"):
            if not suppression.address.startswith("sha256:"):  # an erased customer's: a hash
                listed.setdefault(phones.normal_or_as_typed(suppression.address, region), []).append(suppression)
        for number, entries in listed.items():
            # The first entry says why; one already in the normal form is kept as it is.
            kept = next((entry for entry in entries if entry.address == number), entries[0])
            Suppression.objects.filter(pk__in=[entry.pk for entry in entries if entry is not kept]).delete()
            if kept.address != number:
                Suppression.objects.filter(pk=kept.pk).update(address=number)


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0013_shop_phone_region"),
        ("feedback", "0013_repeat_customer_not_by_test_orders"),
    ]

    operations = [migrations.RunPython(normalise_stored_phones, migrations.RunPython.noop)]
