"""The project's URLs plus `/bare/`: a view that only verifies the signature and inserts the row,
the floor the real intake endpoint is measured against."""

import json

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from marketplace.gateway import events as gateway_events


@csrf_exempt
def bare(request: HttpRequest) -> HttpResponse:
    body = request.body
    try:
        gateway_events.verify_event(
            body, request.META.get("HTTP_STRIPE_SIGNATURE", ""), settings.STRIPE_WEBHOOK_SECRETS
        )
    except gateway_events.WebhookSignatureError:
        return HttpResponse(status=400)
    event = json.loads(body)
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_bare_event (id, type, payload, received_at) VALUES (%s, %s, %s, %s) "
            "ON CONFLICT (id) DO NOTHING",
            [event["id"], event["type"], body.decode(), now],
        )
    return JsonResponse({"ok": True})


urlpatterns = [path("bare/", bare), path("", include("config.urls"))]
