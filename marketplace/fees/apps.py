from django.apps import AppConfig


class FeesConfig(AppConfig):
    name = "marketplace.fees"
    label = "fees"
    verbose_name = "Fee policy"
