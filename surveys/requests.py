"""Typed requests: what authentication has put on a request, so endpoints read it without casts."""

from django.http import HttpRequest

from surveys.models import Shop


class ShopRequest(HttpRequest):
    """An API request its key authenticated: `auth` is the shop the key acts for (config/api.py)."""

    auth: Shop
    # The key's name, for audit trails ("via API key shopify").
    api_key_name: str
