"""A customer's data: export, erasure (each app's part through its hooks), retention, the privacy
requests a store passes on, and their API."""
