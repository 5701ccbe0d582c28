from datetime import date

from celery import shared_task

from reports import domain
from surveys.models import Shop


@shared_task(name="reports.tasks.generate_monthly_report")
def generate_monthly_report(*, shop_id: int, month: str) -> None:
    shop = Shop.objects.filter(pk=shop_id).first()
    if shop is None:
        return
    domain.generate_monthly_report(shop, month=date.fromisoformat(month))


@shared_task(name="reports.tasks.start_due_monthly_reports")
def start_due_monthly_reports() -> None:
    domain.start_due_monthly_reports()
    domain.render_pending_reports()
