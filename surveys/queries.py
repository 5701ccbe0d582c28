"""Querysets scoped to what one shop, or one staff user, may see."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from surveys.models import Invitation, Order, Shop
from surveys.tokens import hash_token


def shops_of(user: User | AnonymousUser) -> QuerySet[Shop]:
    if not user.is_authenticated:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    return Shop.objects.filter(memberships__user=user)


def orders_of(shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop)


def invitations_with_token(token: str) -> QuerySet[Invitation]:
    """The invitation a link token opens: the survey's own link or its reminder's."""
    token_hash = hash_token(token)
    return Invitation.objects.filter(Q(token_hash=token_hash) | Q(reminder_token_hash=token_hash))
