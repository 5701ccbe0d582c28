"""What every Bazgasht admin page shares: each staff member sees and changes only their shops' rows,
and searches stay out of URLs (feedback, sentiment and reports build on it)."""

from typing import Any

from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from config.searches import SearchOutsideUrls
from surveys.models import (
    Membership,
    Shop,
)
from surveys.queries import rows_of_shops, shops_of


class ShopScopedAdmin(SearchOutsideUrls):
    """Staff see and pick only rows of the shops they belong to (with one of `roles`, if set)."""

    shop_path = "shop"
    # The shop's settings (surveys, rules, keys, members) are its admins' to change.
    roles: tuple[str, ...] | None = None
    # Django 6 assumes https for a URL typed without a scheme; say so now (5.2 warns otherwise).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.shop_path}__in": shops_of(request.user, roles=self.roles)})

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_foreignkey(db_field, request, **self._scoped(db_field, request, kwargs))

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        return super().formfield_for_manytomany(db_field, request, **self._scoped(db_field, request, kwargs))

    def _scoped(self, db_field: Any, request: HttpRequest, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Every relation offers, and so accepts on save (select, raw id or autocomplete alike),
        only rows of the user's shops: a shop's own row, its customers, orders, surveys, staff."""
        if request.user.is_superuser:
            return kwargs
        shops = shops_of(request.user, roles=self.roles if db_field.related_model is Shop else None)
        rows = rows_of_shops(db_field.related_model, shops)
        return kwargs if rows is None else {**kwargs, "queryset": rows}

    # Without the role in any shop these pages are a 403 and hidden from the index, not an empty
    # list and an add form with no shop to pick.
    def _has_role(self, request: HttpRequest) -> bool:
        if self.roles is None or request.user.is_superuser:
            return True
        known: dict[tuple[str, ...], bool] = request.__dict__.setdefault("_bazgasht_roles", {})
        if self.roles not in known:
            known[self.roles] = shops_of(request.user, roles=self.roles).exists()
        return known[self.roles]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self._has_role(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._has_role(request) and super().has_delete_permission(request, obj)


SHOP_ADMINS = (Membership.Role.ADMIN,)
