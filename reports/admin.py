"""The admin of monthly reports: each shop's schedule, and the runs with their PDFs."""

from django.contrib import admin

from reports.models import ReportRun, ReportSchedule
from surveys.admin.base import SHOP_ADMINS, ShopScopedAdmin
from surveys.queries import READS_NUMBERS


@admin.register(ReportSchedule)
class ReportScheduleAdmin(ShopScopedAdmin):
    """When the monthly report goes out: a shop setting, its admins' to change."""

    roles = SHOP_ADMINS
    list_display = ["shop", "enabled", "day", "hour", "calendar", "language"]
    list_select_related = ["shop"]


@admin.register(ReportRun)
class ReportRunAdmin(ShopScopedAdmin):
    """Every report made; the archive at /reports/ is where managers download and remake them."""

    roles = READS_NUMBERS
    list_display = ["shop", "period", "calendar", "language", "status", "attempts", "emailed_at", "finished_at"]
    list_filter = ["status", "language", "calendar"]
    list_select_related = ["shop"]
    readonly_fields = [
        "shop", "period", "period_end", "calendar", "language", "status", "file", "error", "attempts",
        "next_attempt_at", "email_wanted", "emailed_at", "emailed_to", "requested_by", "created_at", "started_at",
        "finished_at",
    ]  # fmt: skip

    def has_add_permission(self, request: object) -> bool:
        return False  # reports are made on the schedule or from the archive, not typed in
