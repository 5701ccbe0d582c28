"""Answers and the work on them: responses and their answers, follow-up cases with notes and an
audit trail, each shop's flag rules, and alerts about urgent cases."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from feedback.casework.outbound import validate_webhook_target
from surveys.models import Channel, Customer, Invitation, Language, Question, Shop, Survey


class Response(models.Model):
    """A customer's answer to one invitation; the database allows only one."""

    invitation = models.OneToOneField(Invitation, on_delete=models.CASCADE, related_name="response")
    # Copied from the invitation so tallies filter and group without joins.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="responses")
    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="responses")
    # When the answer first counted: the customer confirmed a score (or, without a score
    # question, sent the first page). Tallies use this time.
    submitted_at = models.DateTimeField()
    # When the customer sent the last page; until then the response is partial and resumable.
    completed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    # What the cuts group by, recorded when the response is stored so they read no invitation or
    # order: the invitation's channel, and whether the customer had placed an order before the
    # one surveyed (cancelled ones too), as far as the shop knew then. The database fills both
    # (a trigger, see migration 0007), so every way of storing a response does; nothing else
    # should write them. Null only in a Response object not read back since it was stored (and
    # nullable so SQLite adds the columns in place instead of rebuilding the table under the
    # triggers of migration 0004).
    channel = models.CharField(max_length=10, choices=Channel.choices, null=True, editable=False)  # noqa: DJ001
    repeat_customer = models.BooleanField(null=True, editable=False)
    # Since when the answers wait to be read (sentiment, flags): set with the answers that need
    # it, cleared by the reading that saw them. A reading lost with the broker is found by the
    # sweep (feedback.domain.read_forgotten), so no answer goes unread.
    analysis_wanted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "submitted_at"], name="response_shop_time_idx"),
            # Only the few responses waiting to be read are in it.
            models.Index(
                fields=["analysis_wanted_at"], condition=Q(analysis_wanted_at__isnull=False), name="response_unread_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} from {self.customer}"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    # A question with answers cannot be deleted on its own (its answers would lose their meaning);
    # deleting the whole shop or survey takes both (RESTRICT, where PROTECT refused that too).
    question = models.ForeignKey(Question, on_delete=models.RESTRICT, related_name="answers")
    score = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True, max_length=5000)
    # The chosen option values of a single or multiple choice question.
    choices = models.JSONField(default=list, blank=True)
    # The response's submitted_at, copied so trends read one index instead of joining a
    # million responses. The database keeps the copy (a trigger, see migration 0004), so
    # every way of saving an answer fills it; nothing else should write it.
    submitted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="answer_unique_question_per_response"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=10), name="answer_score_0_to_10"
            ),
        ]
        indexes = [
            # Trends: a question's scores in a time range, read from the index alone.
            models.Index(
                fields=["question", "submitted_at"],
                include=["score"],
                condition=Q(score__isnull=False),
                name="answer_scored_time_idx",
            ),
        ]

    def __str__(self) -> str:
        if self.score is not None:
            return f"{self.question.kind}: {self.score}"
        return f"{self.question.kind}: {', '.join(self.choices) or self.text[:40]}"


class FollowUp(models.Model):
    """A flagged response on the support team's work list: a case."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        IN_PROGRESS = "in_progress", _("In progress")
        WAITING = "waiting", _("Waiting on customer")
        RESOLVED = "resolved", _("Resolved")
        NO_CONTACT = "no_contact", _("No contact")

    class Reason(models.TextChoices):
        DETRACTOR = "detractor", _("Detractor (NPS 0–6)")
        LOW_CSAT = "low_csat", _("Low satisfaction (CSAT 1–2)")
        NEGATIVE_COMMENT = "negative_comment", _("Negative comment")
        # The score says fine, the words say otherwise: the customers who leave silently.
        SILENT_DETRACTOR = "silent_detractor", _("Good score, unhappy comment")
        KEYWORD = "keyword", _("Mentions a warning word")
        REPEAT_LOW = "repeat_low", _("Second low score")

    class Priority(models.IntegerChoices):
        URGENT = 1, _("Urgent")
        HIGH = 2, _("High")
        NORMAL = 3, _("Normal")
        LOW = 4, _("Low")

    class Resolution(models.TextChoices):
        FIXED = "fixed", _("Problem solved")
        EXPLAINED = "explained", _("Explained, nothing to fix")
        GOODWILL = "goodwill", _("Goodwill given")
        NO_ACTION = "no_action", _("No action needed")
        UNREACHABLE = "unreachable", _("Could not reach the customer")

    class Goodwill(models.TextChoices):
        NONE = "", _("None")
        COUPON = "coupon", _("Coupon")
        REFUND = "refund", _("Refund")
        REPLACEMENT = "replacement", _("Replacement")

    response = models.OneToOneField(Response, on_delete=models.CASCADE, related_name="follow_up")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="follow_ups")
    reasons = models.JSONField(default=list, help_text="Every flagging rule that fired, by code.")
    # The warning words found in the comments, for the agent to see at a glance.
    keywords = models.JSONField(default=list, blank=True)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    # When the first contact is due (the SLA of the priority, in the shop's business hours).
    due_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    # What the customer was worth to the shop when flagged: loyal customers come first.
    customer_orders = models.PositiveIntegerField(default=0)
    customer_spend = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # Where that spend ranked among the shop's customers: in the top `customer_rank` percent
    # (1: the very top). None for a customer who had spent nothing.
    customer_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    first_contact_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.CharField(max_length=12, choices=Resolution.choices, blank=True)
    goodwill = models.CharField(max_length=12, choices=Goodwill.choices, blank=True, default=Goodwill.NONE)
    goodwill_note = models.CharField(max_length=300, blank=True, help_text="E.g. the coupon code or refund amount.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["shop", "status"], name="followup_shop_status_idx"),
            # The work list: open cases of a shop, most urgent and most overdue first.
            models.Index(fields=["shop", "priority", "due_at"], name="followup_queue_idx"),
        ]

    def __str__(self) -> str:
        return f"case {self.pk} ({self.get_priority_display()}, {self.get_status_display()})"

    @staticmethod
    def has_reason(reason: str) -> Q:
        """Cases flagged for `reason`, on any database: matched in the JSON text with its quotes,
        so "detractor" does not match "silent_detractor" (SQLite has no JSON `contains`)."""
        return Q(reasons__icontains=f'"{reason}"')

    @property
    def is_closed(self) -> bool:
        return self.status in (self.Status.RESOLVED, self.Status.NO_CONTACT)


class FlagRules(models.Model):
    """A shop's flagging rules, SLA and business hours; a shop without a row gets the defaults."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="flag_rules")
    nps_at_most = models.SmallIntegerField(
        null=True, blank=True, default=6, help_text="Flag NPS scores up to this (empty: never)."
    )
    csat_at_most = models.SmallIntegerField(
        null=True, blank=True, default=2, help_text="Flag CSAT scores up to this (empty: never)."
    )
    comment_polarity_at_most = models.FloatField(
        null=True,
        blank=True,
        default=-0.3,
        help_text="Flag a comment whose sentiment is this negative or more (-1..0; empty: never).",
    )
    keywords = models.TextField(
        blank=True,
        default=(
            "refund\ncancel\nbroken\ndamaged\nnever again\nscam\nlawyer\nchargeback\n"
            "مرجوع\nخراب\nپس بدهم\nکلاهبرداری\nشکایت\nآسیب دیده\nدیگر خرید نمی کنم"
        ),
        help_text="Warning words or phrases, one per line, in any language.",
    )
    repeat_low_days = models.PositiveSmallIntegerField(
        null=True, blank=True, default=180, help_text="Flag a second low score within this many days."
    )
    loyal_orders = models.PositiveSmallIntegerField(
        default=3, help_text="A customer with this many orders counts as loyal (higher priority)."
    )
    loyal_spend = models.DecimalField(
        max_digits=14, decimal_places=2, null=True, blank=True, help_text="…or with this lifetime spend."
    )
    # About 8 % of a shop's customers bring about 40 % of its revenue: losing one costs most.
    top_customers_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
        help_text="…or whose lifetime spend is in the shop's top this many percent of customers (empty: off).",
    )
    urgent_hours = models.PositiveSmallIntegerField(default=4, help_text="Business hours to first contact.")
    high_hours = models.PositiveSmallIntegerField(default=8)
    normal_hours = models.PositiveSmallIntegerField(default=24)
    low_hours = models.PositiveSmallIntegerField(default=72)
    business_from_hour = models.PositiveSmallIntegerField(default=9, validators=[MaxValueValidator(23)])
    business_until_hour = models.PositiveSmallIntegerField(
        default=17, validators=[MinValueValidator(1), MaxValueValidator(24)]
    )
    working_days = models.CharField(
        max_length=20,
        default="1,2,3,4,5",
        validators=[RegexValidator(r"^[1-7](,[1-7])*$", "ISO weekdays 1 (Monday) to 7 (Sunday), comma-separated")],
        help_text="ISO weekdays, 1 = Monday … 7 = Sunday; Saturday to Wednesday is 6,7,1,2,3.",
    )

    # Did it help? A survey sent some days after a case is resolved.
    recovery_survey = models.ForeignKey(
        Survey,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        limit_choices_to={"purpose": "recovery"},
        help_text="Sent after a case is resolved (a survey whose purpose is recovery).",
    )
    recovery_after_days = models.PositiveSmallIntegerField(default=14)

    # Alerts for the most urgent cases: an email to the case's owner (or this address) and a
    # signed POST to a webhook (a Slack incoming-webhook URL works as is).
    alert_at_priority = models.PositiveSmallIntegerField(
        choices=FollowUp.Priority.choices,
        default=FollowUp.Priority.URGENT,
        help_text="Alert for cases of this priority or more urgent.",
    )
    alert_email = models.EmailField(blank=True, help_text="On-call address for cases nobody owns yet.")
    alert_webhook_url = models.URLField(blank=True, max_length=500, validators=[validate_webhook_target])
    alert_webhook_secret = models.CharField(
        max_length=200, blank=True, help_text="Signs each webhook (X-Bazgasht-Signature: sha256=HMAC of the body)."
    )
    # Rotating the secret: the old one goes here and webhooks carry a signature with each
    # until then, so the receiver can switch at its own pace.
    alert_webhook_previous_secret = models.CharField(
        max_length=200, blank=True, help_text="The secret before the last change; also signs webhooks until…"
    )
    alert_webhook_previous_secret_until = models.DateTimeField(
        null=True, blank=True, help_text="…this time. Leave empty to stop signing with the previous secret."
    )

    class Meta:
        verbose_name_plural = "flag rules"
        constraints = [
            models.CheckConstraint(
                condition=Q(business_from_hour__lt=models.F("business_until_hour")), name="flagrules_hours_in_order"
            )
        ]

    def __str__(self) -> str:
        return f"flag rules of {self.shop}"

    @property
    def keyword_list(self) -> list[str]:
        return [line.strip() for line in self.keywords.splitlines() if line.strip()]

    @property
    def weekdays(self) -> set[int]:
        return {int(day) for day in self.working_days.split(",") if day.strip()}

    def sla_hours(self, priority: int) -> int:
        hours: dict[int, int] = {
            FollowUp.Priority.URGENT: self.urgent_hours,
            FollowUp.Priority.HIGH: self.high_hours,
            FollowUp.Priority.NORMAL: self.normal_hours,
        }
        return hours.get(priority, self.low_hours)


class CaseNote(models.Model):
    """An internal note, a reply sent to the customer, or the customer's answer to it."""

    class Kind(models.TextChoices):
        NOTE = "note", "Internal note"
        REPLY = "reply", "Reply to the customer"
        CUSTOMER = "customer", "From the customer"

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.NOTE)
    text = models.TextField(max_length=10000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on case {self.follow_up_id}"


class CaseEvent(models.Model):
    """The audit trail: who changed what on a case, and when. Never edited."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="events")
    # Empty for Bazgasht itself (flagging, a customer's reply).
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=20)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["follow_up", "at"], name="caseevent_case_time_idx")]

    def __str__(self) -> str:
        return f"{self.action} on case {self.follow_up_id} at {self.at:%Y-%m-%d %H:%M}"


class AlertDelivery(models.Model):
    """The delivery log of alert webhooks: one row per attempt, so a shop can see what reached its
    receiver, what failed and why, and when the retries ran."""

    class Outcome(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (retried)"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="alert_deliveries")
    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="alert_deliveries")
    url = models.URLField(max_length=500)
    attempt = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # How many signatures went out (2 while a previous secret is still honoured).
    signatures = models.PositiveSmallIntegerField(default=0)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "alert deliveries"
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["shop", "at"], name="alertdelivery_shop_time_idx")]

    def __str__(self) -> str:
        return f"alert for case {self.follow_up_id}: {self.outcome} (attempt {self.attempt})"


class Alert(models.Model):
    """An urgent case's alert, due until it went out: the email to whoever must act and the shop's
    webhook. Claimed by a worker as an invitation is, and tried again at `due_at` with growing
    pauses, so neither a broker message lost nor one delivered twice loses or doubles an alert."""

    follow_up = models.OneToOneField(FollowUp, on_delete=models.CASCADE, related_name="alert")
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="alerts")
    due_at = models.DateTimeField(help_text="When it is tried (again).")
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set while a worker sends it; a claim older than the lease is taken over.
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, help_text="Sent, given up, or no longer wanted.")
    error = models.CharField(max_length=300, blank=True, help_text="Why the last try failed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], condition=Q(finished_at__isnull=True), name="alert_due_idx")]

    def __str__(self) -> str:
        return f"alert for case {self.follow_up_id} ({'done' if self.finished_at else 'due'})"


# Staff sign-in (lockout, two-factor) lives in its own module; imported so Django finds it.
from feedback.accounts.models import LoginFailure, RecoveryCode, TwoFactorDevice  # noqa: E402, F401
