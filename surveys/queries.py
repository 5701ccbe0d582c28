"""Querysets scoped to what one shop, or one staff user, may see."""

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet

from surveys.models import Invitation, Membership, Order, Shop
from surveys.tokens import hash_token


def shops_of(user: User | AnonymousUser, *, roles: tuple[str, ...] | None = None) -> QuerySet[Shop]:
    """The shops a staff user works for; with `roles`, only those where their role is one of them.

    Agents work the cases; managers also read the numbers and reports; shop admins also change
    the shop's settings. Superusers see every shop.
    """
    if not user.is_authenticated:
        return Shop.objects.none()
    if user.is_superuser:
        return Shop.objects.all()
    memberships = Membership.objects.filter(user=user)
    if roles is not None:
        memberships = memberships.filter(role__in=roles)
    return Shop.objects.filter(pk__in=memberships.values("shop_id"))


# Who reads the numbers (dashboard, reports, exports): managers and shop admins.
READS_NUMBERS = (Membership.Role.MANAGER, Membership.Role.ADMIN)


def orders_of(shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop)


def invitations_with_token(token: str) -> QuerySet[Invitation]:
    """The invitation a link token opens: the survey's own link or its reminder's."""
    token_hash = hash_token(token)
    return Invitation.objects.filter(Q(token_hash=token_hash) | Q(reminder_token_hash=token_hash))
