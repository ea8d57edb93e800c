from django.apps import AppConfig


class SubscriptionsConfig(AppConfig):
    name = "subscriptions"

    def ready(self) -> None:
        """A refund of a subscription payment tells the buyer whichever path recorded it
        (`payments.services.refund_listener`)."""
        from payments.services import refund_listener
        from subscriptions.services import subscription_follow_refund

        refund_listener(subscription_follow_refund)
