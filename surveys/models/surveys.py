"""Surveys, their questions and scales, and the invitations that carry them to customers."""

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from surveys.models.customers import Channel, Customer
from surveys.models.orders import Order
from surveys.models.shops import Language, Shop, one_shop


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
    # The link token is derived from this (surveys.outreach.tokens.link_token), so a resend repeats it.
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
