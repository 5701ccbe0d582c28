"""The report's products: NPS by product against the shop's, and what their detractors complain of."""

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count, F

from feedback.insights.cuts import Cut
from feedback.insights.metrics import nps_trend
from feedback.insights.periods import Calendar, Span
from feedback.insights.tallies import Z_95, NpsTally, nps_change_z
from sentiment.models import AnswerTheme, SentimentScore
from surveys.models import Shop

# Products get a row once they have this many NPS answers in the month: fewer say nothing.
PRODUCT_MIN_RESPONSES = 10
PRODUCTS_SHOWN = 10


@dataclass(frozen=True)
class ProductRow:
    product: str
    nps: NpsTally
    below_the_rest: bool  # significantly below the NPS of the shop's other products
    top_complaint: str | None  # the theme most often mentioned negatively


def product_rows(shop: Shop, span: Span, calendar: Calendar, shop_nps: NpsTally) -> list[ProductRow]:
    """The month's products with enough answers to say something, the most answered first;
    each compared with the rest of the shop (the shop's answers without this product's)."""
    rows = [
        row
        for row in nps_trend(shop, since=span.first_day, until=span.first_day, calendar=calendar, by=Cut.PRODUCT)
        if row.group is not None and row.tally.responses >= PRODUCT_MIN_RESPONSES
    ]
    rows = sorted(rows, key=lambda row: (-row.tally.responses, row.group_label))[:PRODUCTS_SHOWN]
    complaints = _product_complaints(shop, span, [str(row.group) for row in rows])
    result = []
    for row in rows:
        rest = NpsTally(
            promoters=max(shop_nps.promoters - row.tally.promoters, 0),
            passives=max(shop_nps.passives - row.tally.passives, 0),
            detractors=max(shop_nps.detractors - row.tally.detractors, 0),
        )
        z = nps_change_z(row.tally, rest)
        result.append(
            ProductRow(
                product=row.group_label,
                nps=row.tally,
                below_the_rest=z is not None and z < -Z_95,
                top_complaint=complaints.get(str(row.group)),
            )
        )
    return result


def _product_complaints(shop: Shop, span: Span, products: list[str]) -> dict[str, str]:
    """For each product (by the key the product cut uses: SKU, else name), its most mentioned
    negative theme. Grouped by SKU and name in SQL and keyed in Python: filtering on the key
    as an expression made PostgreSQL join every line to every mention (minutes at 10,000)."""
    if not products:
        return {}
    line = "answer__response__invitation__order__lines__"
    counts = (
        AnswerTheme.objects.filter(
            answer__response__shop=shop,
            answer__response__submitted_at__gte=span.start,
            answer__response__submitted_at__lt=span.end,
            label=SentimentScore.Label.NEGATIVE,
        )
        .values("theme", sku=F(f"{line}sku"), name=F(f"{line}product_name"))
        .annotate(n=Count("pk", distinct=True))
        .order_by()
    )
    wanted = set(products)
    tally: dict[str, Counter[str]] = {}
    for row in counts:
        key = row["sku"] or row["name"]
        if key in wanted:
            tally.setdefault(key, Counter())[row["theme"]] += row["n"]
    # The most mentioned; a tie goes to the theme first in the alphabet, so the report is stable.
    return {key: min(themes.items(), key=lambda item: (-item[1], item[0]))[0] for key, themes in tally.items()}
