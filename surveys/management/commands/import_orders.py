"""`manage.py import_orders SHOP FILE`: import a shop's past orders from a CSV file (surveys.intake.csv_import)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.intake.csv_import import import_orders
from surveys.intake.csv_layouts import COLUMNS, MAX_ROWS, CsvFileError
from surveys.models import Shop


class Command(BaseCommand):
    help = (
        f"Import a shop's past orders from a CSV file (UTF-8, comma or semicolon, header first, "
        f"at most {MAX_ROWS:,} rows). Columns: {', '.join(COLUMNS)}. Times without a UTC offset are "
        "read in the shop's time zone. Rejected rows are listed but do not fail the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="The CSV file.")
        parser.add_argument("--shop", required=True, help="The shop's slug.")
        parser.add_argument(
            "--schedule-surveys",
            action="store_true",
            help="Survey the imported orders that are recent enough (by default nobody is surveyed).",
        )
        parser.add_argument("--rejects", help="Write the rejected orders and why to this CSV file.")

    def handle(
        self, *args: Any, file: str, shop: str, schedule_surveys: bool, rejects: str | None, **options: Any
    ) -> None:
        found = Shop.objects.filter(slug=shop).first()
        if found is None:
            raise CommandError(f"no shop with the slug {shop!r}")
        try:
            # utf-8-sig drops the byte-order mark Excel writes; newline="" lets csv see quoted line breaks.
            with open(file, encoding="utf-8-sig", newline="") as rows:
                report = import_orders(found, rows, schedule_surveys=schedule_surveys)
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror or error}") from error
        except CsvFileError as error:
            raise CommandError(f"{file}: {error.message}; nothing was imported") from error
        self.stdout.write(report.as_text())
        if rejects:
            try:
                with open(rejects, "w", encoding="utf-8", newline="") as out:
                    report.write_rejections(out)
            except OSError as error:
                raise CommandError(
                    f"cannot write {rejects}: {error.strerror or error} (the orders above were imported)"
                ) from error
            self.stdout.write(f"Rejected orders written to {rejects}.")
