from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "marketplace.catalog"
    label = "catalog"
    verbose_name = "Catalog: listings and carts"

    def ready(self) -> None:
        from marketplace.catalog import signals  # noqa: F401  (connects the login receiver)
