"""How a private file leaves the site: only as a download, with the type we found in its bytes.

Proof files are whatever a seller or an admin uploaded. Served inline from our origin, a file that
is also HTML (a PDF whose first bytes say `%PDF-` can hold a `<script>`) would run as our page. So
every private file goes out as an attachment, under a name with the extension of its type, with that
type and `nosniff` (browsers must not guess another), and never into a shared cache.
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header

from payments.models import DisputeFile


def private_file_response(upload: DisputeFile) -> HttpResponse:
    """The file (at most 4 MB, so read whole) as an attachment; the caller checked who asks."""
    try:
        with upload.file.open("rb") as fh:
            body = fh.read()
    except FileNotFoundError:
        raise Http404("The file is missing from storage.") from None
    response = HttpResponse(body, content_type=upload.content_type)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=upload.download_name) or ""
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
