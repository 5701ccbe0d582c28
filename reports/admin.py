from django.contrib import admin

from reports.models import ReportRun
from surveys.admin import ShopScopedAdmin


@admin.register(ReportRun)
class ReportRunAdmin(ShopScopedAdmin):
    list_display = ["shop", "period", "status", "file", "finished_at"]
    list_filter = ["status"]
    list_select_related = ["shop"]
    readonly_fields = ["status", "file", "error", "created_at", "finished_at"]
