"""The admin a shop's staff use for surveys' data: one module a subject, each registering its pages
with the admin site when imported here (Django imports `surveys.admin` at start-up)."""

from surveys.admin import customers, orders, shops, surveys

__all__ = ["customers", "orders", "shops", "surveys"]
