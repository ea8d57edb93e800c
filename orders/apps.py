from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        """An order follows its refunds whichever path records them (`payments.services.refund_listener`)."""
        from orders.services.refunds import order_follow_refund
        from payments.services import refund_listener

        refund_listener(order_follow_refund)
