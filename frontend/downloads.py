"""How files leave the site: a private file only as a download, with the type we found in its bytes;
a report as a CSV attachment (`csv_response`).

Proof files are whatever a seller or an admin uploaded. Served inline from our origin, a file that
is also HTML (a PDF whose first bytes say `%PDF-` can hold a `<script>`) would run as our page. So
every private file goes out as an attachment, under a name with the extension of its type, with that
type and `nosniff` (browsers must not guess another), and never into a shared cache.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

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


def csv_response(rows: Iterable[Sequence[object]], *, filename: str) -> HttpResponse:
    """`rows` (the header first) as a UTF-8 CSV attachment named `filename`: the console's reports.
    Text a person typed goes through `marketplace.text.spreadsheet_text` first."""
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
