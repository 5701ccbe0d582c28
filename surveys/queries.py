"""Querysets scoped to what one shop, or one staff user, may see."""

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Model, Q, QuerySet

from surveys.models import Invitation, Membership, Order, Shop
from surveys.outreach.tokens import hash_token


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


def shop_path_of(model: type[Model]) -> str | None:
    """How rows of `model` reach the shop they belong to ("shop", "survey__shop", "memberships__shop"
    for staff users), or None for rows of no shop. Followed two relations deep at most."""
    if model is Shop:
        return "pk"
    if issubclass(model, User):
        return "memberships__shop"
    fields = {field.name: field for field in model._meta.get_fields()}
    if "shop" in fields:
        return "shop"
    for field in model._meta.get_fields():
        related = field.related_model
        if not (field.many_to_one and isinstance(related, type) and issubclass(related, Model)):
            continue
        if related not in (model, Shop) and "shop" in {f.name for f in related._meta.get_fields()}:
            return f"{field.name}__shop"
    return None


def rows_of_shops(model: type[Model], shops: QuerySet[Shop]) -> QuerySet[Any] | None:
    """The rows of `model` that belong to these shops; None for a model whose rows belong to no shop."""
    shop_path = shop_path_of(model)
    if shop_path is None:
        return None
    return model._default_manager.filter(**{f"{shop_path}__in": shops}).distinct()


def orders_of(shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop)


def invitations_with_token(token: str) -> QuerySet[Invitation]:
    """The invitation a link token opens: the survey's own link or its reminder's."""
    token_hash = hash_token(token)
    return Invitation.objects.filter(Q(token_hash=token_hash) | Q(reminder_token_hash=token_hash))
