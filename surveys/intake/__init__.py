"""Orders in, for the shop developers who connect a store: the orders API and API keys, Shopify and
WooCommerce webhooks (signed), and CSV imports of past orders with their column mappings."""
