"""Monthly reports: each shop's schedule (day, hour, calendar, language) and the runs, with their
PDF, their tries and whom they were emailed to."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, validate_email
from django.db import models
from django.utils import timezone

from feedback.insights.periods import Calendar
from surveys.models import Language, Shop

CALENDARS = [(Calendar.GREGORIAN.value, "Gregorian months"), (Calendar.JALALI.value, "Jalali (Persian) months")]


class ReportSchedule(models.Model):
    """When and how a shop's monthly report goes out. A shop without one gets the defaults:
    the 1st at 07:00 in its time zone, in its language, Jalali months for Persian shops."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="report_schedule")
    enabled = models.BooleanField(default=True, help_text="Email the report to the shop's managers every month.")
    day = models.PositiveSmallIntegerField(
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(28)],
        help_text="Day of the month (1–28, in the chosen calendar) the previous month's report goes out.",
    )
    hour = models.PositiveSmallIntegerField(
        default=7, validators=[MaxValueValidator(23)], help_text="In the shop's time zone."
    )
    calendar = models.CharField(
        max_length=10, choices=CALENDARS, blank=True, help_text="Blank: Jalali for Persian shops."
    )
    language = models.CharField(
        max_length=2, choices=Language.choices, blank=True, help_text="Blank: the shop's language."
    )
    extra_recipients = models.TextField(
        blank=True, max_length=2000, help_text="Addresses to send to besides the shop's managers, one per line."
    )

    def __str__(self) -> str:
        return f"Monthly report of {self.shop}"

    def clean(self) -> None:
        wrong = []
        for line in self.extra_recipients.splitlines():
            try:
                validate_email(line.strip()) if line.strip() else None
            except ValidationError:
                wrong.append(line.strip())
        if wrong:
            raise ValidationError({"extra_recipients": f"Not an email address: {', '.join(wrong)}"})

    @property
    def report_calendar(self) -> str:
        if self.calendar:
            return self.calendar
        return Calendar.JALALI if self.report_language == Language.PERSIAN else Calendar.GREGORIAN

    @property
    def report_language(self) -> str:
        return self.language or self.shop.default_language


class ReportRun(models.Model):
    """One monthly report of one shop in one language; the row makes it happen exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Being made"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="report_runs")
    period = models.DateField(help_text="First day of the month reported on (for Jalali months, its Gregorian date).")
    period_end = models.DateField(help_text="Last day of the month reported on.")
    calendar = models.CharField(max_length=10, choices=CALENDARS, default=Calendar.GREGORIAN.value)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.ENGLISH)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    error = models.CharField(max_length=1000, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="When a failed run is tried again.")
    # Whether the managers are to get this run by email when it is done; cleared once they have.
    email_wanted = models.BooleanField(default=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.PositiveSmallIntegerField(default=0, help_text="How many addresses the last email went to.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "period", "language"], name="reportrun_unique_shop_period_language")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="reportrun_due_idx")]
        ordering = ["-period", "language"]

    def __str__(self) -> str:
        return f"{self.shop} {self.period:%Y-%m} {self.language} ({self.status})"

    @property
    def retry_is_due(self) -> bool:
        """A failed run whose next try has come: the scheduler takes it at its next look."""
        return self.next_attempt_at is not None and self.next_attempt_at <= timezone.now()
