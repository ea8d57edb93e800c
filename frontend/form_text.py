"""A text area's posted text for the views that read it without a Form (`marketplace.text` says why
its line breaks are made LF; a Form uses `marketplace.text.TextAreaField`)."""

from __future__ import annotations

from django.http import HttpRequest

from marketplace.text import lf_line_breaks


def posted_text(request: HttpRequest, name: str) -> str:
    """The posted field `name` ("" when absent), its line breaks as LF."""
    return lf_line_breaks(request.POST.get(name, ""))
