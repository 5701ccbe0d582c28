"""API keys: made for a shop with scopes, shown once, stored as a hash, and found again by the key a request carries."""

from collections.abc import Sequence
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from surveys.models import (
    ApiKey,
    ApiScope,
    Shop,
    default_api_scopes,
)
from surveys.outreach.tokens import hash_token, new_token

# --- API keys ------------------------------------------------------------------------

# How precisely an API key's last use is recorded: one write a minute at most, not one a request.
API_KEY_USE_RESOLUTION = timedelta(minutes=1)


def create_api_key(shop: Shop, *, name: str, scopes: Sequence[str] | None = None) -> tuple[ApiKey, str]:
    """A new key for `shop` (read and write unless `scopes` says otherwise); the clear key is
    returned once and never stored."""
    raw = f"bz_{new_token()}"
    chosen = list(scopes) if scopes is not None else default_api_scopes()
    unknown = set(chosen) - set(ApiScope.values)
    if unknown:
        raise ValueError(f"unknown API scopes: {', '.join(sorted(unknown))}")
    key = ApiKey.objects.create(shop=shop, name=name, prefix=raw[:10], key_hash=hash_token(raw), scopes=chosen)
    return key, raw


def shop_for_api_key(raw: str) -> Shop | None:
    key = api_key_for(raw)
    return key.shop if key is not None else None


def api_key_for(raw: str) -> ApiKey | None:
    """The live (unrevoked) key, with its shop, for a raw API key, noting when it was last used.

    One indexed read per request; `last_used_at` is written at most once a minute per key (a
    conditional UPDATE, so concurrent requests do not all write), not once per request.
    """
    key = ApiKey.objects.select_related("shop").filter(key_hash=hash_token(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > API_KEY_USE_RESOLUTION:
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - API_KEY_USE_RESOLUTION)
        ApiKey.objects.filter(stale, pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
