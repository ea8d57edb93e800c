"""`{% asset %}` and `{% htmx %}` (frontend/templatetags/assets.py) render exactly what `{% static %}` and
`{% htmx_script %}` render, though each is computed once per process; a change of the static settings
is followed at once."""

from __future__ import annotations

import re
from pathlib import Path

from django.template import Context, Template
from django.test import override_settings

BASE = Path(__file__).resolve().parents[2] / "frontend" / "templates" / "base.html"


def render(text: str) -> str:
    return Template("{% load assets static django_htmx %}" + text).render(Context())


def test_base_html_names_its_static_files_with_them() -> None:
    names = re.findall(r"\{% asset '([^']+)' %\}", BASE.read_text())
    assert set(names) == {"favicon.svg", "css/site.css"} and "{% htmx %}" in BASE.read_text()
    for name in names:
        assert render(f"{{% asset '{name}' %}}") == render(f"{{% static '{name}' %}}")
        assert render(f"{{% asset '{name}' %}}") == render(f"{{% static '{name}' %}}")  # kept: the same
    assert render("{% htmx %}") == render("{% htmx_script %}") and "htmx" in render("{% htmx %}")


def test_a_change_of_the_static_url_is_followed() -> None:
    assert render("{% asset 'css/site.css' %}") == "/static/css/site.css"
    with override_settings(STATIC_URL="/assets/"):
        assert render("{% asset 'css/site.css' %}") == render("{% static 'css/site.css' %}") == "/assets/css/site.css"
        assert "/assets/" in render("{% htmx %}")
    assert render("{% asset 'css/site.css' %}") == "/static/css/site.css"


def test_a_name_is_escaped_as_static_escapes_it() -> None:
    assert render("{% asset 'a&b.css' %}") == render("{% static 'a&b.css' %}") == "/static/a%26b.css"
