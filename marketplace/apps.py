from django.apps import AppConfig
from django.core import checks


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace platform"

    def ready(self) -> None:
        from marketplace.gateway.checks import stripe_api_version_check
        from marketplace.sqlite import sqlite_like_install
        from marketplace.storage import private_storage_check

        checks.register(stripe_api_version_check, checks.Tags.compatibility)
        checks.register(private_storage_check, checks.Tags.security)
        sqlite_like_install()  # the demo's SQLite folds case as Postgres does (a search for "CRÈME")
