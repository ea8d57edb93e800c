from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from frontend.decorators import platform_admin_required


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "storefront/home.html")


@login_required
def sell_home(request: HttpRequest) -> HttpResponse:
    return render(request, "sell/home.html")


@platform_admin_required
def console_home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html")
