"""Shops and who works for them: the shop and its settings, staff memberships, and API keys with their scopes."""

import zoneinfo
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q


class Language(models.TextChoices):
    ENGLISH = "en", "English"
    PERSIAN = "fa", "Persian"


def validate_phone_region(value: str) -> None:
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValidationError(f"{value!r} is not a country code phone numbers know (for example IR or DE)")


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a known time zone (for example Asia/Tehran)")


class Shop(models.Model):
    class ConsentBasis(models.TextChoices):
        # A survey about a purchase just made is commonly sent on the shop's legitimate
        # interest (GDPR art. 6(1)(f)); an objection (an unsubscribe, an opt-out at the store) ends it.
        LEGITIMATE_INTEREST = "legitimate", "Legitimate interest: survey buyers unless they opted out"
        # Shops whose law or policy treats surveys as marketing ask first.
        OPT_IN = "opt_in", "Consent: survey only customers who opted in"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    # What customers see in emails and on the answer page, if it differs from `name`.
    brand_name = models.CharField(max_length=200, blank=True)
    # Survey emails come from the installation's sending address (DEFAULT_FROM_EMAIL), which is
    # often no mailbox anyone reads: a customer who answers the email reaches the shop here.
    support_email = models.EmailField(
        "support email",
        blank=True,
        help_text="Where customers' replies to survey emails go (their Reply-To), such as support@yourshop.com.",
    )
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    phone_region = models.CharField(
        max_length=2,
        blank=True,
        validators=[validate_phone_region],
        help_text="The country (IR, DE…) of phone numbers written without their country code, such as "
        "0912 123 4567. Left empty: the country of the shop's time zone.",
    )
    default_language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    brand_color = models.CharField(
        max_length=7,
        default="#0b5cad",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "a colour like #0b5cad")],
        help_text="Buttons and links in emails and on the answer page.",
    )
    # Surveys go out only between these hours, shop time: nobody gets one at 3 a.m.
    send_from_hour = models.PositiveSmallIntegerField(default=9, validators=[MaxValueValidator(23)])
    send_until_hour = models.PositiveSmallIntegerField(
        default=20, validators=[MinValueValidator(1), MaxValueValidator(24)], help_text="24 means midnight."
    )
    throttle_days = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(7), MaxValueValidator(365)],
        help_text="At most one survey per customer in this many days, across all of the shop's surveys.",
    )
    sms_enabled = models.BooleanField(default=False, help_text="Survey customers who gave a phone but no email by SMS.")
    # The answer page and its thank-you page.
    answer_edit_window = models.DurationField(
        default=timedelta(days=2),
        help_text="How long after answering a customer may still change the answer (0 makes answers final).",
    )
    review_url = models.URLField(
        blank=True, help_text="Where promoters are invited to leave a public review (for example a Google page)."
    )
    referral_url = models.URLField(blank=True, help_text="A referral link promoters may share with friends.")
    follow_up_enabled = models.BooleanField(
        default=True, help_text="Detractors are told someone from the shop will get in touch."
    )
    # Privacy: who may be contacted, and how long answers and customers are kept.
    consent_basis = models.CharField(
        max_length=10,
        choices=ConsentBasis.choices,
        default=ConsentBasis.LEGITIMATE_INTEREST,
        help_text="On what grounds customers are surveyed; with consent, only customers who opted in are.",
    )
    retention_months = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MaxValueValidator(600)],
        help_text="Anonymise answers and customers this many months old (empty or 0: keep them).",
    )
    retention_purges_reports = models.BooleanField(
        default=False, help_text="Delete the PDFs of monthly reports older than the retention period too."
    )
    # Every answer submitted before this time has been anonymised (see surveys.customer_data.retention.apply_retention).
    retention_applied_until = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(send_from_hour__lt=models.F("send_until_hour"), send_until_hour__lte=24),
                name="shop_sending_hours_in_order",
            ),
            models.CheckConstraint(
                condition=Q(throttle_days__gte=7, throttle_days__lte=365), name="shop_throttle_days_7_to_365"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def display_name(self) -> str:
        return self.brand_name or self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Membership(models.Model):
    """A staff user's place in a shop; staff see only the shops they belong to."""

    class Role(models.TextChoices):
        AGENT = "agent", "Support agent"
        MANAGER = "manager", "Manager"
        ADMIN = "admin", "Shop admin"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "shop"], name="membership_unique_user_shop")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.shop} ({self.role})"


class ApiScope(models.TextChoices):
    """What an API key may do (config/api.py maps each endpoint to one)."""

    READ = "read", "Read: orders, numbers, and (with customers) cases, exports and reports"
    WRITE = "write", "Write: record orders and events, and (with customers) change cases and add notes"
    CUSTOMERS = (
        "customers",
        "Customers: what reveals or changes personal data (cases, notes, exports, reports, erasure)",
    )
    WEBHOOKS = "webhooks", "Webhooks: read and change the alert webhook, its secret and its delivery log"


def default_api_scopes() -> list[str]:
    # What a key could do before personal data had a scope of its own; webhooks only when asked for.
    return [ApiScope.READ, ApiScope.WRITE, ApiScope.CUSTOMERS]


class ApiKey(models.Model):
    """A shop's key for the REST API. Only a hash is stored; the key is shown once."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=default_api_scopes, help_text="read, write, customers, webhooks")
    # The first characters of the key, kept in clear so a shop can tell its keys apart.
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        verbose_name_plural = "API keys"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


def one_shop(row: models.Model, *relations: str) -> None:
    """Refuse a row whose related rows (by field name) belong to another shop than its own."""
    errors = {}
    for name in relations:
        related = getattr(row, f"{name}_id", None) and getattr(row, name)
        if related is not None and getattr(row, "shop_id", None) and related.shop_id != row.shop_id:  # type: ignore[attr-defined]
            errors[name] = f"This {name} belongs to another shop."
    if errors:
        raise ValidationError(errors)
