"""`{% link %}` (frontend/templatetags/links.py) renders exactly what `{% url %}` renders, under any
script prefix, though it reverses each route once per process."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import clear_script_prefix, set_script_prefix

TEMPLATES = Path(__file__).resolve().parents[2] / "frontend" / "templates"
HEADER = [TEMPLATES / "base.html", TEMPLATES / "_nav.html"]  # the header, and its main navigation


def _names() -> list[str]:
    return sorted({name for path in HEADER for name in re.findall(r"\{% link '([a-z_]+)' %\}", path.read_text())})


def test_the_header_uses_it_for_its_routes() -> None:
    assert {"home", "cart", "sell_home", "account_login", "account_logout"} <= set(_names())


@pytest.mark.parametrize("prefix", ["/", "/shop/"])
def test_it_renders_what_url_renders(prefix: str) -> None:
    set_script_prefix(prefix)
    try:
        for name in _names():
            ours = Template("{% load links %}{% link '" + name + "' %}").render(Context())
            django = Template("{% url '" + name + "' %}").render(Context())
            assert ours == django and ours.startswith(prefix), name
    finally:
        clear_script_prefix()
