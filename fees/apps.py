from django.apps import AppConfig


class FeesConfig(AppConfig):
    name = "fees"
    label = "fees"
    verbose_name = "Fee policy"
