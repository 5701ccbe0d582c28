"""Reports' Celery tasks, thin: making one report, and the beat's look for reports that are due."""

from celery import shared_task

from reports import domain


@shared_task(name="reports.tasks.make_report")
def make_report(run_id: int) -> None:
    """Render one report run and email it if wanted; failures are kept on the run."""
    domain.make_report(run_id)


@shared_task(name="reports.tasks.start_due_reports")
def start_due_reports() -> None:
    """On the beat: reports whose time has come, and failed ones due another try."""
    domain.start_due_reports()
