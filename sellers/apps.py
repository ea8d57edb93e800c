from django.apps import AppConfig


class SellersConfig(AppConfig):
    name = "sellers"

    def ready(self) -> None:
        """Tell the webhook inbox which connected accounts are ours: the platform core imports no
        domain app, so it learns of sellers only through this hook."""
        from marketplace.webhooks.registry import register_connected_accounts
        from sellers.selectors import seller_account_ids, seller_account_is_known

        register_connected_accounts(is_known=seller_account_is_known, all_ids=seller_account_ids)
