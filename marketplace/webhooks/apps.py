from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "marketplace.webhooks"
    label = "webhooks"
    verbose_name = "Stripe webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Fill the registry: import `<app>.webhooks` for every installed app that has one.

        Done here, not lazily, so that the web process refuses a misspelt event type at start-up and
        the worker knows every handler before its first task. `WEBHOOK_HANDLER_MODULES` names extra
        modules to import (tests use it to give a worker subprocess their handlers).
        """
        from importlib import import_module

        from django.conf import settings
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("webhooks")
        for module in getattr(settings, "WEBHOOK_HANDLER_MODULES", ()):
            import_module(module)
