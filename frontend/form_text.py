"""Text from a form's text area, with its line breaks as the person typed them.

A browser counts each line break of a `<textarea>` as one character for `maxlength`, but submits it
as CRLF, two (HTML's form submission normalises line breaks so). A text the browser let through at
the limit then reached the server longer than the limit, was refused, and what was written was lost.
With CRLF and lone CRs made LF before the service counts, the server takes what the browser allows.
"""

from __future__ import annotations

from django.http import HttpRequest


def posted_text(request: HttpRequest, name: str) -> str:
    """The posted field `name` ("" when absent), its line breaks as LF."""
    return request.POST.get(name, "").replace("\r\n", "\n").replace("\r", "\n")
