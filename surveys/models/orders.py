"""Orders and their lines, as the stores sent them (a store's test orders kept, never counted)."""

from django.db import models
from django.db.models import Q

from surveys.models.customers import Customer
from surveys.models.shops import Shop, one_shop


class OrderQuerySet(models.QuerySet["Order"]):
    def counted(self) -> "OrderQuerySet":
        """Orders that count: a store's test orders (Shopify's `test: true`) are kept, never counted."""
        return self.filter(is_test=False)


class Order(models.Model):
    class Source(models.TextChoices):
        API = "api", "API"
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        CSV = "csv", "CSV import"
        DEMO = "demo", "Demo"

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="orders")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="orders")
    external_id = models.CharField(max_length=100, help_text="The store's id of the order (what the API names it by).")
    # The number the customer knows, where the store has one beside its id: Shopify's "#1030" for
    # its id 2998557704341, WooCommerce's `number`. Shown wherever a person reads the order.
    # Nullable only so SQLite adds the column rather than rebuilding the table, which the one-shop
    # triggers on this table and on invitations (migration 0010) would not survive.
    number = models.CharField(  # noqa: DJ001
        max_length=100, null=True, blank=True, help_text="The order number the customer knows, if not the id."
    )
    total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    placed_at = models.DateTimeField()
    fulfilled_at = models.DateTimeField(null=True, blank=True, help_text="Shipped or handed over.")
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Cancelled or refunded: no survey goes out for it any more.
    cancelled_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.API)
    # A store's test order (Shopify's `test: true`, its "send test notification" sample, an API
    # order sent with `test`): stored so the shop sees it arrived, never surveyed, never counted.
    is_test = models.BooleanField(
        "test order", default=False, db_default=False, help_text="A store's test order: never surveyed or counted."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OrderQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="order_unique_external_id_per_shop"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["customer", "placed_at"], name="order_customer_time_idx"),
            # The value tiers: a shop's counted orders, customer by customer, with their totals,
            # read from the index alone (never another shop's orders).
            models.Index(
                fields=["shop", "customer"],
                include=["total"],
                condition=Q(is_test=False, cancelled_at__isnull=True),
                name="order_shop_spend_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.display_number}"

    @property
    def display_number(self) -> str:
        """The number to show a person: the one the customer knows, else the store's id."""
        return self.number or self.external_id

    def clean(self) -> None:
        # The database refuses it too (migration 0010); this says so on the form.
        one_shop(self, "customer")


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=100, blank=True)
    product_name = models.CharField(max_length=300, blank=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product_name or self.sku}"
