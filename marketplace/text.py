"""Text a person typed into a text area, with its line breaks as they typed them.

A browser counts each line break of a `<textarea>` as one character for `maxlength` but submits it
as CRLF, two (HTML's form submission normalises line breaks so). A text the browser let through at
the limit then reached the server longer than the limit, was refused, and what was written was lost.
With CRLF and lone CRs made LF before anything counts, the server takes what the browser allows.

And the other way round: a name typed into a one-line field (a shop's, a listing's title) must hold
no line break at all, which a crafted post can send (`on_one_line`).
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django import forms

# Line breaks, tabs and the other control characters, and Unicode's line and paragraph separators.
NOT_ON_ONE_LINE = frozenset({"Cc", "Zl", "Zp"})
# What draws nothing by itself: spaces and separators, format characters (zero-width spaces, bidi
# controls), control characters and combining marks.
INVISIBLE_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cf", "Cc", "Mn", "Me", "Mc"})
# Letters and symbols drawn as blanks: the Hangul fillers (letters to Unicode, "default ignorable"
# to fonts) and the Braille blank. Each passes the categories above.
BLANK_CHARACTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def lf_line_breaks(text: str) -> str:
    """`text` with CRLF and lone CR as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


class TextAreaField(forms.CharField):
    """A form's text area, its line breaks LF before `max_length` counts them."""

    widget = forms.Textarea

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        return lf_line_breaks(text) if text is not None else None


def on_one_line(text: str) -> bool:
    """Does `text` hold no line break, tab or other control character? A name (a shop's, a
    listing's title) is written into email subjects, where a line break makes the message fail to
    send (a header cannot hold one), and everywhere else on one line."""
    return not any(unicodedata.category(c) in NOT_ON_ONE_LINE for c in text)


def shows_something(text: str) -> bool:
    """Does `text` show anything? "\u200b\u200b" passes `strip()` (a zero-width space is not
    whitespace to Python) yet shows people a blank name: a shop's, a listing's title."""
    return any(unicodedata.category(c) not in INVISIBLE_CATEGORIES and c not in BLANK_CHARACTERS for c in text)


# Bidi embeddings, overrides and isolates (LRE, RLE, PDF, LRO, RLO; LRI, RLI, FSI, PDI): an override
# turns backwards whatever follows it up to the end of its line or paragraph, ours as well as the name's.
DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
DIRECTION_CONTROLS_REFUSED = (
    "Leave out the direction controls (invisible characters that turn the text around them backwards):"
    " right-to-left letters show the right way by themselves."
)


def has_direction_controls(text: str) -> bool:
    """Does a name (a shop's, a listing's title) hold a bidi control? Shown in a cart line, an order or
    an email subject, an unclosed right-to-left override reverses the price or words written after it;
    Arabic or Hebrew names need none (their letters carry their direction)."""
    return any(c in DIRECTION_CONTROLS for c in text)
