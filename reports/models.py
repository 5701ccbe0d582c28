from django.db import models

from surveys.models import Shop


class ReportRun(models.Model):
    """One monthly report of one shop; the row makes generation happen exactly once."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="report_runs")
    period = models.DateField(help_text="First day of the month reported on.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    file = models.FileField(upload_to="reports/%Y/%m/", blank=True)
    error = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "period"], name="reportrun_unique_shop_period")]
        ordering = ["-period"]

    def __str__(self) -> str:
        return f"{self.shop} {self.period:%Y-%m} ({self.status})"
