"""`manage.py monthly_report`: render a shop's monthly report as a PDF file, now, in this process."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.insights.periods import Calendar
from reports import domain
from reports.models import ReportRun
from reports.month import report_month
from surveys.errors import DomainError
from surveys.models import Language, Shop


class Command(BaseCommand):
    help = "Make a shop's monthly PDF report now and keep it in the archive (a re-run replaces the file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shop", required=True, help="the shop's slug")
        parser.add_argument(
            "--month", help="YYYY-MM, e.g. 2026-10 (or 1405-08 with --calendar jalali); default: last month"
        )
        parser.add_argument("--calendar", choices=[c.value for c in Calendar], help="default: the shop's schedule")
        parser.add_argument("--language", choices=Language.values, help="default: the shop's schedule")
        parser.add_argument("--email", action="store_true", help="also email it to the shop's managers")
        parser.add_argument("--out", type=Path, help="also write the PDF to this file")

    def handle(self, *args: object, **options: object) -> None:
        shop = Shop.objects.filter(slug=options["shop"]).first()
        if shop is None:
            raise CommandError(f"no shop with the slug {options['shop']!r}")
        calendar = Calendar(str(options["calendar"] or domain.schedule_of(shop).report_calendar))
        try:
            month = (
                domain.parse_month(str(options["month"]), calendar)
                if options["month"]
                else domain.last_month(shop, calendar)
            )
            run = domain.make_report_now(
                shop,
                month=month,
                calendar=calendar,
                language=str(options["language"] or "") or None,
                email=bool(options["email"]),
            )
        except DomainError as error:
            raise CommandError(error.message) from error
        if run.status != ReportRun.Status.DONE:
            raise CommandError(f"the report failed: {run.error}")
        out = options["out"]
        if isinstance(out, Path):
            with run.file.open("rb") as source:
                out.write_bytes(source.read())
            self.stdout.write(f"Wrote {out}")
        label = report_month(shop, run.period, Calendar(run.calendar)).label
        self.stdout.write(f"Report for {shop.slug}, {label}: {run.file.name}")
