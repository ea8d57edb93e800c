from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.home, name="home"),
    path("sell/", views.sell_home, name="sell_home"),
    path("console/", views.console_home, name="console_home"),
]
