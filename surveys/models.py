import zoneinfo
from dataclasses import dataclass
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from surveys import phones


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
    # Every answer submitted before this time has been anonymised (see surveys.privacy.apply_retention).
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
        # Stored as a one-way hash (surveys.suppressions.address_marker), never in clear.
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


class OrderQuerySet(models.QuerySet["Order"]):
    def counted(self) -> "OrderQuerySet":
        """Orders that count: a store's test orders (Shopify's `test: true`) are kept, never counted."""
        return self.filter(is_test=False)


class Order(models.Model):
    class Source(models.TextChoices):
        API = "api", "API"
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        CSV = "csv", "CSV import"
        DEMO = "demo", "Demo"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=100, help_text="The store's id of the order (what the API names it by).")
    # The number the customer knows, where the store has one beside its id: Shopify's "#1030" for
    # its id 2998557704341, WooCommerce's `number`. Shown wherever a person reads the order.
    # Nullable only so SQLite adds the column rather than rebuilding the table, which the one-shop
    # triggers on this table and on invitations (migration 0010) would not survive.
    number = models.CharField(  # noqa: DJ001
        max_length=100, null=True, blank=True, help_text="The order number the customer knows, if not the id."
    )
    total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    placed_at = models.DateTimeField()
    fulfilled_at = models.DateTimeField(null=True, blank=True, help_text="Shipped or handed over.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Cancelled or refunded: no survey goes out for it any more.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.API)
    # A store's test order (Shopify's `test: true`, its "send test notification" sample, an API
    # order sent with `test`): stored so the shop sees it arrived, never surveyed, never counted.
    is_test = models.BooleanField(
        "test order", default=False, db_default=False, help_text="A store's test order: never surveyed or counted."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="order_unique_external_id_per_shop"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [models.Index(fields=["customer", "placed_at"], name="order_customer_time_idx")]

    def __str__(self) -> str:
        return f"#{self.display_number}"

    @property
    def display_number(self) -> str:
        """The number to show a person: the one the customer knows, else the store's id."""
        return self.number or self.external_id

    def clean(self) -> None:
        # The database refuses it too (migration 0010); this says so on the form.
        one_shop(self, "customer")


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=100, blank=True)
    product_name = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name or self.sku}"


class Survey(models.Model):
    class Trigger(models.TextChoices):
        PURCHASE = "purchase", "After purchase"
        # Delivery when the shop reports it, else fulfilment (most platforms only know shipping).
        FULFILMENT = "fulfilment", "After delivery (or fulfilment)"

    class Purpose(models.TextChoices):
        ORDER = "order", "After an order"
        # Sent by the support team's work list some days after a case is resolved: did it help?
        RECOVERY = "recovery", "After a resolved case (recovery)"

    class Customers(models.TextChoices):
        ALL = "all", "All customers"
        FIRST = "first", "First-time customers only"
        REPEAT = "repeat", "Repeat customers only"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="surveys")
    name = models.CharField(max_length=200)
    purpose = models.CharField(
        max_length=10,
        choices=Purpose.choices,
        default=Purpose.ORDER,
        help_text="Recovery surveys are not sent after orders but after resolved cases (see Flag rules).",
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.FULFILMENT)
    delay = models.DurationField(default=timedelta(days=7), help_text="How long after the trigger to send.")
    valid_for = models.DurationField(default=timedelta(days=30), help_text="How long the survey link stays open.")
    reminder_after = models.DurationField(
        null=True, blank=True, help_text="Send one reminder this long after the survey if it is still unopened."
    )
    # Filters: an order that fails one is not surveyed by this survey.
    min_order_total = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    include_skus = models.TextField(blank=True, help_text="Only orders with one of these SKUs (comma-separated).")
    exclude_skus = models.TextField(blank=True, help_text="Never orders with one of these SKUs (comma-separated).")
    customers = models.CharField(max_length=6, choices=Customers.choices, default=Customers.ALL)
    sample_percent = models.PositiveSmallIntegerField(
        default=100, validators=[MinValueValidator(1), MaxValueValidator(100)], help_text="Survey this share of orders."
    )
    is_active = models.BooleanField(default=True)
    # What the customer reads at the top of the answer page; empty: "How was your order #…?"
    heading = models.CharField("heading (English)", max_length=200, blank=True)
    heading_fa = models.CharField("heading (Persian)", max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(sample_percent__gte=1, sample_percent__lte=100), name="survey_sample_percent_1_to_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def heading_in(self, language: str) -> str:
        return (self.heading_fa if language == Language.PERSIAN else "") or self.heading

    @property
    def included_skus(self) -> set[str]:
        return _sku_set(self.include_skus)

    @property
    def excluded_skus(self) -> set[str]:
        return _sku_set(self.exclude_skus)


def _sku_set(text: str) -> set[str]:
    return {sku.strip() for sku in text.replace("\n", ",").split(",") if sku.strip()}


class Question(models.Model):
    class Kind(models.TextChoices):
        NPS = "nps", "Recommend, NPS (0–10)"
        CSAT = "csat", "Satisfaction, CSAT (1–5)"
        CES = "ces", "Effort, CES (1–7)"
        STARS = "stars", "Star rating (1–5)"
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice"
        SHORT_TEXT = "short_text", "Short text"
        COMMENT = "comment", "Long text (comment)"

    class Topic(models.TextChoices):
        """What happens after a purchase, so reports can tell delivery from support."""

        NONE = "", "—"
        DELIVERY = "delivery", "Delivery"
        INSTALLATION = "installation", "Installation"
        AS_DESCRIBED = "as_described", "Product as described"
        SUPPORT = "support", "Customer support"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    text = models.CharField("text (English)", max_length=500)
    text_fa = models.CharField("text (Persian)", max_length=500, blank=True)
    # For single and multiple choice: [{"value": "fast", "en": "Fast delivery", "fa": "ارسال سریع"}, ...]
    options = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    # Shown only when the survey's first scale answer lies in this band (both ends included),
    # e.g. "What should we improve?" for NPS 0–6. Empty: always shown.
    show_from = models.SmallIntegerField(null=True, blank=True)
    show_to = models.SmallIntegerField(null=True, blank=True)
    topic = models.CharField(max_length=12, choices=Topic.choices, blank=True, default=Topic.NONE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.text

    def clean(self) -> None:
        errors = {}
        if self.kind in (self.Kind.SINGLE, self.Kind.MULTIPLE) and not self.options:
            errors["options"] = "A choice question needs at least one option."
        if self.show_from is not None and self.show_to is not None and self.show_from > self.show_to:
            errors["show_to"] = "The band must end at or above where it starts."
        if errors:
            raise ValidationError(errors)

    @property
    def scale(self) -> range | None:
        """The scores a scale question accepts; None for other kinds."""
        scale = SCALES.get(self.kind)
        return range(scale.lowest, scale.highest + 1) if scale else None

    def mood(self, score: int) -> str:
        """ "unhappy", "neutral" or "happy": NPS detractor / passive / promoter, and alike for the other scales."""
        scale = SCALES[self.kind]
        if score <= scale.unhappy_up_to:
            return "unhappy"
        return "happy" if score >= scale.happy_from else "neutral"

    def text_in(self, language: str) -> str:
        return (self.text_fa if language == Language.PERSIAN else "") or self.text

    def option_labels(self, language: str) -> list[tuple[str, str]]:
        return [(option["value"], option.get(language) or option["en"]) for option in self.options]

    def shown_for(self, lead_score: int | None) -> bool:
        if self.show_from is None and self.show_to is None:
            return True
        if lead_score is None:
            return False
        low = self.show_from if self.show_from is not None else lead_score
        high = self.show_to if self.show_to is not None else lead_score
        return low <= lead_score <= high


@dataclass(frozen=True)
class Scale:
    lowest: int
    highest: int
    unhappy_up_to: int
    happy_from: int


SCALES: dict[str, Scale] = {
    Question.Kind.NPS: Scale(0, 10, unhappy_up_to=6, happy_from=9),
    Question.Kind.CSAT: Scale(1, 5, unhappy_up_to=2, happy_from=4),
    # CES 1–7, "very difficult" to "very easy": 5 and up is the usual "easy".
    Question.Kind.CES: Scale(1, 7, unhappy_up_to=3, happy_from=5),
    Question.Kind.STARS: Scale(1, 5, unhappy_up_to=2, happy_from=4),
}


class Invitation(models.Model):
    """One survey for one order: a due row until sent, then the link the customer answers."""

    Channel = Channel

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        OPENED = "opened", "Opened"
        ANSWERED = "answered", "Answered"
        CANCELLED = "cancelled", "Cancelled"
        SUPPRESSED = "suppressed", "Suppressed"
        THROTTLED = "throttled", "Throttled"
        EXPIRED = "expired", "Expired"
        BOUNCED = "bounced", "Bounced"
        FAILED = "failed", "Failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="invitations")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.EMAIL)
    # SHA-256 of the link token; the token itself exists only in the message sent.
    token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    # The link token is derived from this (surveys.tokens.link_token), so a resend repeats it.
    token_nonce = models.CharField(max_length=32, blank=True)
    # The reminder carries a link of its own; both links open the same survey.
    reminder_token_hash = models.CharField(max_length=64, null=True, blank=True, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    send_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    remind_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # When it reached an end other than an answer (cancelled, suppressed, throttled, expired,
    # bounced, failed); `reason` says why, in words a shop can act on.
    closed_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # The same order arriving twice must not survey the customer twice.
            models.UniqueConstraint(fields=["order", "survey"], name="invitation_unique_order_survey"),
        ]
        indexes = [
            models.Index(fields=["send_at"], condition=Q(status="scheduled"), name="invitation_due_idx"),
            models.Index(
                fields=["remind_at"], condition=Q(status="sent", reminded_at__isnull=True), name="invitation_remind_idx"
            ),
            models.Index(
                fields=["expires_at"], condition=Q(status__in=["sent", "opened"]), name="invitation_expiry_idx"
            ),
            # The throttle: when was this customer last sent a survey?
            models.Index(fields=["customer", "sent_at"], name="invitation_customer_sent_idx"),
            # Response rates and reports: a shop's invitations sent in a period, without
            # reading every shop's.
            models.Index(
                fields=["shop", "sent_at"], condition=Q(sent_at__isnull=False), name="invitation_shop_sent_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey} → {self.customer} ({self.status})"

    def clean(self) -> None:
        one_shop(self, "customer", "order", "survey")


class WebhookSource(models.Model):
    """A store that pushes orders to Bazgasht, with the secret its webhooks are signed with."""

    class Platform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_sources")
    platform = models.CharField(max_length=12, choices=Platform.choices)
    secret = models.CharField(max_length=200)
    # During a rotation the store may still sign with the old secret for a while.
    previous_secret = models.CharField(max_length=200, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform"], name="webhook_source_unique_platform_per_shop")
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} → {self.shop}"


class WebhookDelivery(models.Model):
    """A webhook delivery seen once; the same delivery id again is dropped."""

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=60)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="webhook_delivery_unique_id_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_id}"


class PendingImport(models.Model):
    """An uploaded order file waiting for its columns to be mapped (admin → Orders → Import).

    Kept in the database, not on a web server's disk, as the next step may reach another web
    process; deleted once imported, and after a day (surveys.tasks.start_retention).
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="pending_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=200)
    text = models.TextField()
    schedule_surveys = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.file_name


class ColumnMapping(models.Model):
    """How a shop's own export is read: the field each of its columns holds, remembered for the
    next file with the same columns."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="column_mappings")
    header_key = models.CharField(max_length=64, help_text="SHA-256 of the file's column names, in order.")
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="Column name → field; a column left out is not named.")
    currency = models.CharField(max_length=3, blank=True, help_text="Of every order, if no column holds it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "header_key"], name="column_mapping_one_per_header_per_shop")
        ]

    def __str__(self) -> str:
        return f"{len(self.mapping)} of {len(self.header)} columns"
