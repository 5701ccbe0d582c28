"""Querysets scoped to what one shop, or one staff user, may see."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from surveys.models import Order, Shop


def shops_of(user: User | AnonymousUser) -> QuerySet[Shop]:
    if not user.is_authenticated:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    return Shop.objects.filter(memberships__user=user)


def orders_of(shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop)
