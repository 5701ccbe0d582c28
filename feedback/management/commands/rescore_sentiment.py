"""Score every comment again, after the analyzer (or a shop's own model) changed."""

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from feedback.comments import answers_to_rescore, rescore
from surveys.models import Shop


class Command(BaseCommand):
    help = "Re-score the sentiment and themes of stored comments (all shops, or one), with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--shop", help="Only this shop (its slug).")

    def handle(self, *args: Any, **options: Any) -> None:
        shop = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"no shop with the slug {options['shop']!r}")
        answers = answers_to_rescore(shop)
        total = answers.count()
        started = time.monotonic()

        def progress(done: int) -> None:
            width = 30
            filled = width * done // total if total else width
            rate = done / max(time.monotonic() - started, 1e-6)
            sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} comments, {rate:,.0f}/s")
            sys.stderr.flush()

        scored, changed = rescore(answers.iterator(chunk_size=500), progress=progress)
        sys.stderr.write("\n")
        self.stdout.write(f"Re-scored {scored:,} comments; {changed:,} read differently now.")
