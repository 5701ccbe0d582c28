"""Ways orders come in: the stores' webhook sources and their deliveries, and CSV imports
waiting for their column mapping."""

from django.conf import settings
from django.db import models

from surveys.models.shops import Shop


class WebhookSource(models.Model):
    """A store that pushes orders to Bazgasht, with the secret its webhooks are signed with."""

    class Platform(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="webhook_sources")
    platform = models.CharField(max_length=12, choices=Platform.choices)
    secret = models.CharField(max_length=200)
    # During a rotation the store may still sign with the old secret for a while.
    previous_secret = models.CharField(max_length=200, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform"], name="webhook_source_unique_platform_per_shop")
        ]

    def __str__(self) -> str:
        return f"{self.get_platform_display()} → {self.shop}"


class WebhookDelivery(models.Model):
    """A webhook delivery seen once; the same delivery id again is dropped."""

    source = models.ForeignKey(WebhookSource, on_delete=models.CASCADE, related_name="deliveries")
    delivery_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=60)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["source", "delivery_id"], name="webhook_delivery_unique_id_per_source")
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.delivery_id}"


class PendingImport(models.Model):
    """An uploaded order file waiting for its columns to be mapped (admin → Orders → Import).

    Kept in the database, not on a web server's disk, as the next step may reach another web
    process; deleted once imported, and after a day (surveys.tasks.start_retention).
    """

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="pending_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(max_length=200)
    text = models.TextField()
    schedule_surveys = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.file_name


class ColumnMapping(models.Model):
    """How a shop's own export is read: the field each of its columns holds, remembered for the
    next file with the same columns."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="column_mappings")
    header_key = models.CharField(max_length=64, help_text="SHA-256 of the file's column names, in order.")
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=dict, help_text="Column name → field; a column left out is not named.")
    currency = models.CharField(max_length=3, blank=True, help_text="Of every order, if no column holds it.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "header_key"], name="column_mapping_one_per_header_per_shop")
        ]

    def __str__(self) -> str:
        return f"{len(self.mapping)} of {len(self.header)} columns"
