from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "marketplace.outbox"
    label = "outbox"
    verbose_name = "Outbox (emails and follow-ups)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Fill the registry: import `<app>.follow_ups` for every installed app that has one.

        Done at start-up, not lazily, so that every process (web, worker, beat) knows every name:
        `outbox_add` refuses an unknown one inside the caller's transaction, where a test sees it.
        """
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("follow_ups")
