from django.urls import include, path

from frontend import console_sellers as cs
from frontend import sell_views as sv
from frontend import views

urlpatterns = [
    path("", include("frontend.storefront_views")),  # home, categories, search, listings, shops, cart
    path("", include("frontend.sell_listings_views")),
    path("", include("frontend.console_fees")),
    path("", include("frontend.console_events")),  # webhook event log, replay
    path("", include("frontend.console_revenue")),  # revenue by month, payment health, reconciliation
    path("", include("frontend.console_ledger")),  # the ledger's monthly report (trial balance) and its CSV
    path("", include("frontend.order_views")),  # checkout, buyer orders, seller orders received
    path("", include("frontend.refund_views")),  # refund requests, decisions, the admins' refunds
    path("", include("frontend.console_disputes")),  # the disputes queue, evidence, accept
    path("", include("frontend.sell_disputes")),  # the seller's disputes, statement and proof
    path("", include("frontend.card_views")),  # saved cards, buy now with one
    path("", include("frontend.sell_money_views")),  # balance, payouts, schedule, earnings, statement
    path("", include("frontend.subscription_views")),  # subscribe, your subscriptions, subscribers and MRR
    path("sell/", sv.sell_home, name="sell_home"),
    path("sell/start/", sv.sell_start, name="sell_start"),
    path("sell/onboarding/continue/", sv.sell_onboarding_continue, name="sell_onboarding_continue"),
    path("sell/onboarding/<int:seller_id>/refresh/", sv.sell_onboarding_refresh, name="sell_onboarding_refresh"),
    path("sell/onboarding/<int:seller_id>/return/", sv.sell_onboarding_return, name="sell_onboarding_return"),
    path("sell/dashboard/", sv.sell_dashboard, name="sell_dashboard"),
    path("console/", views.console_home, name="console_home"),
    path(
        "console/transfers/<int:order_id>/retry/",
        views.console_group_transfer_retry,
        name="console_group_transfer_retry",
    ),
    path("console/sellers/", cs.console_sellers, name="console_sellers"),
    path("console/sellers/<int:seller_id>/", cs.console_seller_detail, name="console_seller_detail"),
    path("console/sellers/<int:seller_id>/pause/", cs.console_seller_pause, name="console_seller_pause"),
    path("console/sellers/<int:seller_id>/unpause/", cs.console_seller_unpause, name="console_seller_unpause"),
    path("console/sellers/<int:seller_id>/refresh/", cs.console_seller_refresh, name="console_seller_refresh"),
]
