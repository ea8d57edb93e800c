from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from frontend.decorators import platform_admin_required
from marketplace.errors import DomainError
from orders.selectors import group_transfers_failed
from orders.services import order_transfer_retry


@platform_admin_required
def console_home(request: HttpRequest) -> HttpResponse:
    return render(request, "console/home.html", {"failed_transfers": group_transfers_failed()})


@platform_admin_required
@require_POST
def console_group_transfer_retry(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        order_transfer_retry(order_id=order_id)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {order_id}'s transfer is being sent again.")
    return redirect("console_home")
