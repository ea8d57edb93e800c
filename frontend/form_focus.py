"""Where the cursor goes on a form page that refused what was sent."""

from __future__ import annotations

from django import forms


def focus_first_error(form: forms.BaseForm) -> None:
    """Put `autofocus` on the form's first wrong box (no script needed): a keyboard or screen-reader
    user lands on it, its error read with it (Django ties them by aria-describedby), instead of at the
    top of the page, hunting for the box the message meant. A form without field errors is left as is."""
    wrong = next((name for name in form.fields if name in form.errors), None)
    if wrong is not None:
        form.fields[wrong].widget.attrs["autofocus"] = True
