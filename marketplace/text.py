"""Text a person typed into a text area, with its line breaks as they typed them.

A browser counts each line break of a `<textarea>` as one character for `maxlength` but submits it
as CRLF, two (HTML's form submission normalises line breaks so). A text the browser let through at
the limit then reached the server longer than the limit, was refused, and what was written was lost.
With CRLF and lone CRs made LF before anything counts, the server takes what the browser allows.
"""

from __future__ import annotations

from typing import Any

from django import forms


def lf_line_breaks(text: str) -> str:
    """`text` with CRLF and lone CR as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class TextAreaField(forms.CharField):
    """A form's text area, its line breaks LF before `max_length` counts them."""

    widget = forms.Textarea

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        return lf_line_breaks(text) if text is not None else None
