"""The admin of shops, their staff and their API keys (a key is shown once, when made)."""

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from surveys.admin.base import SHOP_ADMINS, ShopScopedAdmin
from surveys.intake.api_keys import create_api_key
from surveys.models import (
    ApiKey,
    ApiScope,
    Membership,
    Shop,
    default_api_scopes,
)


@admin.register(Shop)
class ShopAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    shop_path = "pk"
    list_display = ["name", "slug", "timezone", "default_language", "created_at"]
    prepopulated_fields = {"slug": ["name"]}
    fieldsets = [
        (
            None,
            {"fields": ["name", "slug", "brand_name", "brand_color", "support_email", "timezone", "default_language"]},
        ),
        (
            "Sending",
            {"fields": [("send_from_hour", "send_until_hour"), "throttle_days", "sms_enabled", "phone_region"]},
        ),
        (
            "Answer page",
            {"fields": ["answer_edit_window", "follow_up_enabled", "review_url", "referral_url"]},
        ),
        ("Privacy", {"fields": ["consent_basis", "retention_months", "retention_purges_reports"]}),
    ]
    search_fields = ["name", "slug"]


@admin.register(Membership)
class MembershipAdmin(ShopScopedAdmin):
    roles = SHOP_ADMINS
    list_display = ["user", "shop", "role"]
    list_filter = ["role"]
    list_select_related = ["user", "shop"]


class ApiKeyForm(forms.ModelForm):
    scopes = forms.TypedMultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=default_api_scopes,
        help_text="Give each integration only what it needs: a reporting tool needs read alone.",
    )

    class Meta:
        model = ApiKey
        fields = ["shop", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(ShopScopedAdmin):
    """Keys are made here (the key is shown once, in the message after saving), scoped, and revoked."""

    roles = SHOP_ADMINS
    form = ApiKeyForm
    list_display = ["name", "prefix", "shop", "scope_list", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    list_select_related = ["shop"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, raw = create_api_key(obj.shop, name=obj.name, scopes=obj.scopes)
        obj.pk, obj.prefix, obj.key_hash, obj.created_at = key.pk, key.prefix, key.key_hash, key.created_at
        self.message_user(request, f"The new key is {raw} . Copy it now: it is stored hashed and not shown again.")

    @admin.action(description="Revoke the selected keys (they stop working at once)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"{revoked} key(s) revoked.")
