import re
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.domain import generate_monthly_report
from surveys.models import Shop


class Command(BaseCommand):
    help = "Render a shop's monthly PDF report now (a re-run replaces the stored file)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shop", required=True, help="the shop's slug")
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--out", type=Path, help="also write the PDF to this file")

    def handle(self, *args: object, shop: str, month: str, out: Path | None, **options: object) -> None:
        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", month):
            raise CommandError(f"--month must look like 2026-10, not {month!r}")
        found = Shop.objects.filter(slug=shop).first()
        if found is None:
            raise CommandError(f"no shop with the slug {shop!r}")
        run = generate_monthly_report(found, month=date.fromisoformat(f"{month}-01"))
        if out is not None:
            with run.file.open("rb") as source:
                out.write_bytes(source.read())
            self.stdout.write(f"Wrote {out}")
        self.stdout.write(f"Report for {found.slug} {month}: {run.file.path}")
