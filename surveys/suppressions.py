"""The suppression list: addresses that must never be sent a survey again."""

from django.db.models import Q

from surveys.models import Channel, Shop, Suppression


def normalise_address(channel: str, address: str) -> str:
    address = address.strip()
    return address.lower() if channel == Channel.EMAIL else address


def suppress(shop: Shop, *, channel: str, address: str, reason: str, detail: str = "") -> Suppression:
    """Put an address on the shop's list; the first reason recorded stays."""
    suppression, _ = Suppression.objects.get_or_create(
        shop=shop,
        channel=channel,
        address=normalise_address(channel, address),
        defaults={"reason": reason, "detail": detail[:500]},
    )
    return suppression


def is_suppressed(shop: Shop, *, channel: str, address: str) -> bool:
    return Suppression.objects.filter(shop=shop, channel=channel, address=normalise_address(channel, address)).exists()


def suppressed_among(pairs: set[tuple[int, str, str]]) -> set[tuple[int, str, str]]:
    """Which of these (shop id, channel, address) triples are suppressed, in one query."""
    if not pairs:
        return set()
    condition = Q()
    for shop_id, channel, address in pairs:
        condition |= Q(shop_id=shop_id, channel=channel, address=address)
    return set(Suppression.objects.filter(condition).values_list("shop_id", "channel", "address"))
