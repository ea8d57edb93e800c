"""A proof file posted to a dispute's page, the seller's or the console's: the same checks and
answers for both, in each one's words."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest

from marketplace.errors import DomainError
from payments import disputes as services
from payments.models import Dispute


def dispute_file_posted(request: HttpRequest, dispute: Dispute, *, side: str, added: str, kept_as: str) -> None:
    """Add the posted file to `dispute` on `side` and say what happened: `added` names the new file
    (`{name}`), `kept_as` the one already there with the same bytes (`{name}`), which is kept once."""
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose a file to upload.")
        return
    try:
        result = services.dispute_file_add(
            dispute=dispute,
            upload=upload,
            user=request.user,
            side=side,
            evidence_field=request.POST.get("evidence_field", ""),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if result.created:
            messages.success(request, added.format(name=upload.name))
        else:
            messages.success(request, kept_as.format(name=result.file.filename))
