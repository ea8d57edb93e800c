from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from frontend.decorators import platform_admin_required
from orders.selectors import group_transfers_failed


@platform_admin_required
def console_home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html", {"failed_transfers": group_transfers_failed()})
