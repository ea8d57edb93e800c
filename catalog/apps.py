from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    label = "catalog"
    verbose_name = "Catalog: listings and carts"

    def ready(self) -> None:
        from catalog import signals  # noqa: F401  (connects the login receiver and the storefront cache's)
