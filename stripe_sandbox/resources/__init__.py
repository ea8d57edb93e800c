"""One module per Stripe resource family; each exposes ``ROUTES`` for the router."""
