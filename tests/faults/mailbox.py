"""Emails written by Django's file backend (one file per connection, messages separated by a line
of 79 dashes), read back as (recipient, subject) pairs."""

from __future__ import annotations

import email
from email.header import decode_header, make_header
from pathlib import Path

SEPARATOR = "\n" + "-" * 79 + "\n"


def sent(folder: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(folder.glob("*.log")):
        for raw in path.read_text().split(SEPARATOR):
            if raw.strip():
                message = email.message_from_string(raw)
                found.append((str(message["To"]), str(make_header(decode_header(str(message["Subject"]))))))
    return found
