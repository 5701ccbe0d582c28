"""Customers and how they may be reached: their consent, the channels, the suppression list and erasures."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from surveys import phones
from surveys.models.shops import Language, Shop


class Consent(models.TextChoices):
    """What the customer said, at the store or to Bazgasht, about being contacted."""

    UNKNOWN = "", "Not stated"
    GRANTED = "granted", "Opted in"
    NOT_GRANTED = "not_granted", "Did not opt in"
    WITHDRAWN = "withdrawn", "Opted out"


def _phone_in_one_form(typed: str, shop: Shop, *, field: str) -> str:
    try:
        return phones.normalise(typed, phones.region_of(shop))
    except phones.InvalidPhone as error:
        raise ValidationError({field: str(error)}) from None


class Customer(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="customers")
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    name = models.CharField(max_length=200, blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    consent = models.CharField(max_length=12, choices=Consent.choices, blank=True, default=Consent.UNKNOWN)
    consent_at = models.DateTimeField(null=True, blank=True, help_text="When the customer said so.")
    consent_source = models.CharField(
        max_length=12, blank=True, help_text="Where it was said: api, shopify, woocommerce, csv or admin."
    )
    # Erased on request or by the shop's retention: name, addresses and comments are gone,
    # the scores and orders stay for the numbers.
    anonymised_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "email"], condition=~Q(email=""), name="customer_unique_email_per_shop"
            ),
            models.UniqueConstraint(
                fields=["shop", "phone"], condition=~Q(phone=""), name="customer_unique_phone_per_shop"
            ),
        ]
        indexes = [
            # Retention: a shop's customers not anonymised yet, oldest first.
            models.Index(
                fields=["shop", "created_at"], condition=Q(anonymised_at__isnull=True), name="customer_retention_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.email or self.phone or f"customer {self.pk}"

    def address_for(self, channel: str) -> str:
        return self.email if channel == Channel.EMAIL else self.phone

    def clean(self) -> None:
        # As every other way in stores it (surveys.phones): "0912 123 4567" → "+989121234567".
        if self.phone and self.shop_id is not None:
            self.phone = _phone_in_one_form(self.phone, self.shop, field="phone")


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"


class Suppression(models.Model):
    """An address that must never be sent a survey again, and why."""

    class Reason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Marked as spam"
        MANUAL = "manual", "Added by staff"
        # Stored as a one-way hash (surveys.outreach.suppressions.address_marker), never in clear.
        ERASED = "erased", "Erased at the customer's request"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="suppressions")
    channel = models.CharField(max_length=5, choices=Channel.choices, default=Channel.EMAIL)
    # An email address in lower case, or a phone number as stored on the customer; for an
    # erased customer (or after the shop's retention) only "sha256:" and a one-way hash of it.
    address = models.CharField(max_length=254)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "channel", "address"], name="suppression_unique_address_per_shop")
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.reason})"

    def clean(self) -> None:
        if self.channel == Channel.SMS and self.shop_id is not None and not self.address.startswith("sha256:"):
            self.address = _phone_in_one_form(self.address, self.shop, field="address")
        elif self.channel == Channel.EMAIL:
            self.address = self.address.strip().lower()


class Erasure(models.Model):
    """The audit trail of erasures: that a customer was erased, when and by whom; never what."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="erasures")
    # Kept even if the customer row is deleted later: the trail must outlive it.
    customer = models.ForeignKey(Customer, on_delete=models.DO_NOTHING, db_constraint=False, related_name="erasures")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "admin", "API key <name>": who asked, when no staff user did.
    via = models.CharField(max_length=120, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"customer {self.customer_id} erased {self.at:%Y-%m-%d %H:%M}"
