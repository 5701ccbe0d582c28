"""Cuts: the groups a trend can be split by (channel, language, customer type, value tier, product),
as database expressions over the answers or the invitations, with their labels and order."""

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Case, Exists, F, Max, OuterRef, QuerySet, Sum, Value, When, Window
from django.db.models.functions import Coalesce, CumeDist, NullIf

from surveys.models import Channel, Language, Order, Shop

# --- Cuts ----------------------------------------------------------------------------------


class Cut(enum.StrEnum):
    """How a period's rows split into groups.

    - channel: the invitation's (email, sms).
    - language: the one the customer answered in; for response rates, the customer's.
    - survey: by id, labelled with the survey's name.
    - product: the order's lines, by SKU (or by name without one); an order of several
      products counts once in each, an order without lines in the group None.
    - customer_type: "repeat" if the customer had placed an earlier order (cancelled ones
      too) than this one, else "first_time": the rule the sending filters use. For answers it
      is recorded on the response when stored (an earlier order imported after the customer
      answered does not change it); for response rates the orders are read as they are now.
    - value_tier: the shop's customers ranked by lifetime spend today (orders not cancelled):
      "top" is the 10% who spent most, "middle" the next 40%, "rest" everyone else (also
      customers whose orders were all cancelled). Ties share a tier: a customer belongs to
      the top 10% only if at most 10% of the shop's customers spent as much or more.
    """

    CHANNEL = "channel"
    LANGUAGE = "language"
    SURVEY = "survey"
    PRODUCT = "product"
    CUSTOMER_TYPE = "customer_type"
    VALUE_TIER = "value_tier"


CUSTOMER_TYPES = {"first_time": "First-time customers", "repeat": "Repeat customers"}
VALUE_TIERS = {"top": "Top 10% by lifetime spend", "middle": "Next 40%", "rest": "The other 50%"}
NO_PRODUCT = "No product recorded"

# The shares of a shop's customers, from the biggest spender down, that make the tiers.
TOP_TIER_SHARE, MIDDLE_TIER_SHARE = 0.10, 0.50


@dataclass(frozen=True)
class Paths:
    """Where the cuts' fields lie, seen from the rows being counted."""

    channel: str
    language: str
    survey: str
    order: str
    customer: str
    # A boolean recorded on the row: repeat customer or not. Without one, the orders tell.
    repeat_customer: str | None = None


FROM_ANSWERS = Paths(
    channel="response__channel",  # recorded on the response: no join to the invitation
    language="response__language",  # the language the customer answered in
    survey="response__survey",
    order="response__invitation__order",
    customer="response__customer",
    repeat_customer="response__repeat_customer",
)
FROM_INVITATIONS = Paths(
    channel="channel",
    language="customer__language",  # no answer yet: the customer's language
    survey="survey",
    order="order",
    customer="customer",
)


def spenders(shop: Shop, *, above: float, up_to: float) -> QuerySet[Order, dict[str, Any]]:
    """The ids of the shop's customers whose place by lifetime spend (orders not cancelled) lies
    in (above, up_to]. A customer's place is the share of the shop's customers who spent as much
    or more (CUME_DIST, biggest spender first), so customers who spent the same share a tier."""
    return (
        Order.objects.counted()
        .filter(shop=shop, cancelled_at__isnull=True)
        .values("customer_id")
        .annotate(spend=Sum("total"))
        .annotate(place=Window(CumeDist(), order_by=F("spend").desc()))
        .filter(place__gt=above, place__lte=up_to)
        .values("customer_id")
    )


def cut_expression(cut: Cut, paths: Paths, shop: Shop) -> Any:
    if cut == Cut.CHANNEL:
        return F(paths.channel)
    if cut == Cut.LANGUAGE:
        return F(paths.language)
    if cut == Cut.SURVEY:
        return F(f"{paths.survey}_id")
    if cut == Cut.PRODUCT:
        # An order of several products counts once for each.
        return Coalesce(
            NullIf(F(f"{paths.order}__lines__sku"), Value("")),
            NullIf(F(f"{paths.order}__lines__product_name"), Value("")),
        )
    if cut == Cut.CUSTOMER_TYPE and paths.repeat_customer is not None:
        return Case(When(**{paths.repeat_customer: True}, then=Value("repeat")), default=Value("first_time"))
    if cut == Cut.CUSTOMER_TYPE:
        # As the sending rules see it: repeat if the customer had placed an order before this one.
        earlier = Order.objects.counted().filter(
            customer_id=OuterRef(f"{paths.order}__customer_id"), placed_at__lt=OuterRef(f"{paths.order}__placed_at")
        )
        return Case(When(Exists(earlier), then=Value("repeat")), default=Value("first_time"))
    # Value tier: computed over the shop's customers now, not when they answered.
    top = spenders(shop, above=0, up_to=TOP_TIER_SHARE)
    middle = spenders(shop, above=TOP_TIER_SHARE, up_to=MIDDLE_TIER_SHARE)
    return Case(
        When(**{f"{paths.customer}_id__in": top}, then=Value("top")),
        When(**{f"{paths.customer}_id__in": middle}, then=Value("middle")),
        default=Value("rest"),
    )


def label_aggregate(cut: Cut, paths: Paths) -> Max | None:
    if cut == Cut.SURVEY:
        return Max(f"{paths.survey}__name")
    if cut == Cut.PRODUCT:
        return Max(f"{paths.order}__lines__product_name")
    return None


def group_label(cut: Cut | None, key: str | None, counted_label: str | None) -> str:
    if cut is None:
        return "All"
    if cut == Cut.CHANNEL:
        return Channel(key).label if key in Channel.values else str(key)
    if cut == Cut.LANGUAGE:
        return Language(key).label if key in Language.values else str(key)
    if cut == Cut.CUSTOMER_TYPE:
        return CUSTOMER_TYPES[str(key)]
    if cut == Cut.VALUE_TIER:
        return VALUE_TIERS[str(key)]
    if cut == Cut.PRODUCT and key is None:
        return NO_PRODUCT
    return counted_label or str(key)


def group_order(cut: Cut | None) -> Callable[[tuple[str | None, str]], tuple[int, str]]:
    fixed = list(CUSTOMER_TYPES if cut == Cut.CUSTOMER_TYPE else VALUE_TIERS if cut == Cut.VALUE_TIER else [])

    def order(group: tuple[str | None, str]) -> tuple[int, str]:
        key, label = group
        if key in fixed:
            return fixed.index(key), ""
        return (1 if key is None else 0), label.casefold()

    return order
