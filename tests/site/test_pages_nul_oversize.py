"""A NUL, oversize and -1 fuzz of every page, as an anonymous visitor, a buyer, a seller and a platform admin.

The pages come from the URL resolver (so a new page cannot escape), their path ids are filled with
rows that exist, and for each role:
- every query parameter the page can take (those its view's module reads from `request.GET`, those
  its GET forms and its links carry) is sent with a NUL, then with an oversize value;
- every path part that can hold text is sent with a NUL, and every path part with an oversize value;
- every form rendered on the page, as that role sees it, is submitted with a NUL in every field, then
  with an oversize value, then with -1 in every field (with the page's own CSRF token, so the view
  really runs).
Nothing may answer 5xx; a NUL in a query string or a form is a 400 that says so.

The API is left to schemathesis (test_api_schemathesis.py), Django's own admin to Django (it is not
a page of this project; a NUL reaches it through the same middleware as every other page).
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.test import Client
from django.urls import URLPattern

from tests.site.conftest import ROLES, World
from tests.site.pages import page_url, path_params, project_pages, real_path_values, url_for

pytestmark = [pytest.mark.slow]

NUL = "a\x00b"
# Longer than any field's limit (the description's 10,000 included), and digits past Python's
# 4,300-digit int() limit and Postgres's bigint, for the views that read numbers.
OVERSIZE = "9" * 20_000
# A number no row has and no URL can carry (path converters take digits only): a view that sends
# the visitor back to a URL built from it must not fail building it.
NEGATIVE = "-1"
QUERY_READ = re.compile(r"""request\.GET(?:\.get|\.getlist)?\(\s*["'](\w+)["']|request\.GET\[["'](\w+)["']\]""")
NOT_FUZZED = {"csrfmiddlewaretoken"}  # the page's own token, so the view gets past the CSRF check
MARK = "nulgoeshere"  # a path value every text converter takes as it is, replaced by a raw NUL


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)


class FormParser(HTMLParser):
    """The forms of a page and the query keys of its links, as a browser would submit them."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.link_queries: set[str] = set()
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "?" in a.get("href", ""):
            self.link_queries |= {key for key, _ in parse_qsl(urlsplit(a["href"]).query, keep_blank_values=True)}
        elif tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get").lower()))
        elif self.forms and tag in ("input", "textarea", "select") and a.get("name"):
            if a.get("type") in ("submit", "button", "image", "reset", "file"):
                return
            self.forms[-1].fields.setdefault(a["name"], a.get("value", ""))
            self._select = a["name"] if tag == "select" else None
        elif tag == "option" and self._select and self.forms and not self.forms[-1].fields[self._select]:
            self.forms[-1].fields[self._select] = a.get("value", "")


def query_names_read_by(pattern: URLPattern) -> set[str]:
    module = inspect.getmodule(inspect.unwrap(pattern.callback))
    try:
        source = inspect.getsource(module) if module else ""
    except (OSError, TypeError):
        return set()
    return {a or b for a, b in QUERY_READ.findall(source)}


@dataclass
class Fuzz:
    world: World
    role: str
    client: Client
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    forms_seen: set[tuple[str, str, tuple[str, ...]]] = field(default_factory=set)

    def send(self, method: str, url: str, data: dict[str, str] | None = None, *, nul: bool = False) -> Any:
        """One request; a 5xx is a problem, and so is anything but a 400 for input with a NUL."""
        self.requests += 1
        if method == "post":
            response = self.client.post(url, data or {})
            if self.world.users[self.role] is not None and "_auth_user_id" not in self.client.session:
                self.world.sign_in(self.client, self.role)  # that form signed the role out (log out)
        else:
            response = self.client.get(url, data or {})
        if response.status_code >= 500:
            self.problems.append(f"{self.role} {method.upper()} {url} {_short(data)} -> {response.status_code}")
        elif nul and response.status_code != 400:
            self.problems.append(
                f"{self.role} {method.upper()} {url} {_short(data)} -> {response.status_code}, not 400"
            )
        return response

    def page(self, route: str, pattern: URLPattern, real: dict[str, Any]) -> None:
        params = path_params(route, pattern)
        url = page_url(route, pattern, real)
        if url is None:
            return
        response = self.send("get", url)
        parser = FormParser()
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            parser.feed(response.content.decode())
        names = query_names_read_by(pattern) | parser.link_queries
        names |= {n for form in parser.forms if form.method == "get" for n in form.fields}
        names.discard("")
        if names:
            self.send("get", url, dict.fromkeys(names, NUL), nul=True)
            self.send("get", url, dict.fromkeys(names, OVERSIZE))
        for param in params:
            for value, nul in ((NUL, True), (OVERSIZE, False)):
                fuzzed = url_for(pattern.name, {p: value if p == param else real.get(p, 1) for p in params})
                if fuzzed is None:
                    continue
                if nul and "%00" not in fuzzed:
                    # The converter carries any text encoded (the console's event ids): that address
                    # names an id with a NUL, it holds none. Sent as it is, then with a NUL put in.
                    self.send("get", fuzzed)
                    marked = url_for(pattern.name, {p: MARK if p == param else real.get(p, 1) for p in params})
                    if marked is not None:
                        self.send("get", marked.replace(MARK, "a%00b"), nul=True)
                    continue
                self.send("get", fuzzed, nul=nul)
        for form in parser.forms:
            self.form(url, form)

    def form(self, page_url: str, form: Form) -> None:
        action = form.action or page_url
        fuzzable = sorted(set(form.fields) - NOT_FUZZED)
        key = (action, form.method, tuple(fuzzable))
        if not fuzzable or key in self.forms_seen:
            return
        self.forms_seen.add(key)
        for value, nul in ((NUL, True), (OVERSIZE, False), (NEGATIVE, False)):
            self.send(form.method, action, {**form.fields, **dict.fromkeys(fuzzable, value)}, nul=nul)


EXPECTED_FORMS = {
    "anonymous": lambda w: {"/accounts/login/", "/accounts/signup/", "/search/", "/cart/add/"},
    "buyer": lambda w: {"/checkout/", "/sell/start/", "/accounts/password/change/", "/accounts/2fa/totp/activate/"},
    "seller": lambda w: {
        "/sell/listings/new/",
        f"/sell/listings/{w.listing.pk}/edit/",
        f"/sell/orders/{w.order.pk}/fulfil/",
    },
    "admin": lambda w: {"/console/fees/", "/console/events/", f"/console/sellers/{w.seller.pk}/pause/"},
}


def _short(data: dict[str, str] | None) -> str:
    return urlencode({k: v[:12] for k, v in (data or {}).items()})


@pytest.mark.parametrize("role", ROLES)
def test_no_page_answers_5xx_to_nul_or_oversize_input(world: World, role: str, clean_cache: None) -> None:
    client = Client(raise_request_exception=False)  # a 500 is a response to count, not the end of the run
    world.sign_in(client, role)
    fuzz = Fuzz(world=world, role=role, client=client)
    real = real_path_values(world)
    pages = project_pages()
    for route, pattern in pages:
        fuzz.page(route, pattern, real)
    print(f"\n{role}: {len(pages)} pages, {len(fuzz.forms_seen)} forms, {fuzz.requests} requests")
    assert not fuzz.problems, "\n".join(fuzz.problems)
    # The crawl reached the forms this role works with (a role that silently lost its session would not).
    reached = {action for action, _, _ in fuzz.forms_seen}
    assert EXPECTED_FORMS[role](world) <= reached, EXPECTED_FORMS[role](world) - reached
