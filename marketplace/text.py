"""Text a person typed into a text area, with its line breaks as they typed them.

A browser counts each line break of a `<textarea>` as one character for `maxlength` but submits it
as CRLF, two (HTML's form submission normalises line breaks so). A text the browser let through at
the limit then reached the server longer than the limit, was refused, and what was written was lost.
With CRLF and lone CRs made LF before anything counts, the server takes what the browser allows.
A text still longer than its field is refused with a sentence, never cut (`within_limit`).

And the other way round: a name typed into a one-line field (a shop's, a listing's title) must hold
no line break at all, which a crafted post can send (`on_one_line`).

Names are also read as people see them: `skeleton` is Unicode's confusables skeleton (UTS #39), for
telling names apart that look the same in different alphabets, and `lookalike_from_another_alphabet`
finds a name mixing lookalike letters of two alphabets.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path
from typing import Any

from django import forms

from marketplace.errors import InvalidInput

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


def within_limit(text: str, *, limit: int, what: str, code: str) -> str:
    """`text` with its line breaks LF (`lf_line_breaks`), refused when longer than `limit` with a
    sentence naming the limit and the length: a form's text stored as `text[:limit]` lost the end of
    what was typed without a word (a post made past the browser's `maxlength`, or a browser counting
    otherwise). `what` starts the sentence ("The note"), `code` is the error's."""
    text = lf_line_breaks(text)
    if len(text) > limit:
        raise InvalidInput(f"{what} can be at most {limit:,} characters long; this one has {len(text):,}.", code=code)
    return text


class TextAreaField(forms.CharField):
    """A form's text area, its line breaks LF before `max_length` counts them."""

    widget = forms.Textarea

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        return lf_line_breaks(text) if text is not None else None


# What a spreadsheet opening a CSV reads as the start of a formula (OWASP's "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """`text` for a CSV's text column, read as text by a spreadsheet: one starting as a formula does
    (a shop named "=HYPERLINK(...)", typed by its seller) gets a leading apostrophe, which the
    spreadsheet shows as nothing and which stops it running the formula in the admin's or seller's
    copy. Numbers' columns are left alone: "-1030" is a number there."""
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


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


# Unicode's confusables.txt, version 13.0.0, verbatim (Unicode's terms of use in its header): the
# data of UTS #39's skeleton. Stored keys are made from it (`sellers.models.shop_name_looks`), so
# a newer version comes with a migration that makes them again.
CONFUSABLES = Path(__file__).with_name("confusables.txt")


@functools.cache
def _prototypes() -> dict[str, str]:
    """{character: the prototype it looks like}, from the file's lines `source ; prototype ; MA`."""
    table = {}
    with CONFUSABLES.open(encoding="utf-8-sig") as lines:
        for line in lines:
            data = line.split("#", 1)[0].strip()
            if data:
                source, prototype, _ = (field.strip() for field in data.split(";"))
                table[chr(int(source, 16))] = "".join(chr(int(code, 16)) for code in prototype.split())
    return table


def skeleton(text: str) -> str:
    """UTS #39's skeleton: two texts that look the same have the same one. "Kot" spelt in Cyrillic
    or Greek letters is Latin "Kot" (each letter replaced by the prototype it is drawn like, between
    two canonical decompositions, as the standard specifies). Case counts: "K" and "k" differ."""
    prototypes = _prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(prototypes.get(c, c) for c in decomposed))


# The alphabets whose letters are drawn alike (Latin "a" has a Cyrillic and a Greek twin), by the
# first word of a letter's Unicode name.
LOOKALIKE_ALPHABETS = ("LATIN", "GREEK", "CYRILLIC")


def _alphabet(c: str) -> str | None:
    if not c.isalpha():
        return None
    first = unicodedata.name(c, "").split(" ", 1)[0]
    return first if first in LOOKALIKE_ALPHABETS else None


def lookalike_from_another_alphabet(text: str) -> tuple[str, str, str] | None:
    """The first letter of `text` drawn like a letter of another alphabet that its word also uses, as
    (letter, its alphabet, the alphabet it looks like), or None. "Paypal" with a Cyrillic "a" (U+0430)
    among its Latin letters looks like "Paypal", and no real word needs it. Words wholly in one
    alphabet ("Moscow" beside the same word in Cyrillic), letters that look like nothing of the
    others ("Ω Watches": Greek Omega) and other scripts ("Tokyo 東京") are not asked about: a
    shop's looks tell those apart (`sellers.models.shop_name_looks`)."""
    for word in unicodedata.normalize("NFC", text).split():
        alphabets = {a for a in map(_alphabet, word) if a}
        if len(alphabets) < 2:
            continue
        for c in word:
            own = _alphabet(c)
            if own is None:
                continue
            looks_like = sorted({a for a in map(_alphabet, skeleton(c)) if a} & alphabets - {own})
            if looks_like:
                return c, own.title(), looks_like[0].title()
    return None
