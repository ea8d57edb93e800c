"""Steps a person takes in the browser, and the phone checks (375 px, axe-core), shared by the page-flow tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.factories import PASSWORD

PHONE: ViewportSize = {"width": 375, "height": 812}
BLOCKING = ("critical", "serious")  # axe's impacts a page may not have


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password:", exact=True).fill(password)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_test_id("signed-in-as")).to_have_text(email)


def phone_signed_in(browser: Browser, axe_js: Path, base: str, email: str) -> Page:
    """A page of a new phone-sized browser (375 px) with axe in every page it opens, signed in as `email`.
    Close it with `page.context.close()`."""
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(path=axe_js)
    page = context.new_page()
    page.set_default_timeout(20_000)
    log_in(page, base, email)
    return page


@dataclass
class Check:
    role: str
    url: str
    status: int
    width: int
    blocking: list[str]
    minor: int
    stranded: list[str]  # a tick box's or a choice's label drawn on a line of its own, away from its box

    @property
    def ok(self) -> bool:
        return self.status < 500 and self.width <= PHONE["width"] and not self.blocking and not self.stranded

    def __str__(self) -> str:
        problems = [f"HTTP {self.status}"] if self.status >= 500 else []
        if self.width > PHONE["width"]:
            problems.append(f"{self.width} px wide")
        problems += [f"label of #{box} not beside its box" for box in self.stranded]
        return f"{self.role:<9} {self.url}: {'; '.join(problems + self.blocking)}"


# Each checkbox or radio button followed by its own label (`<input id=x> <label for=x>`): is the label's
# first line beside the box? The site's labels are blocks (above their text boxes), and a tick box's
# label was pushed onto the next line, under a box standing alone.
STRANDED_LABELS = """() => [...document.querySelectorAll('input[type=checkbox][id], input[type=radio][id]')]
  .filter(box => box.nextElementSibling && box.nextElementSibling.matches(`label[for="${box.id}"]`))
  .filter(box => box.getClientRects().length && box.nextElementSibling.getClientRects().length)
  .filter(box => box.nextElementSibling.getClientRects()[0].top >= box.getBoundingClientRect().bottom)
  .map(box => box.id)"""


class Phone:
    """One role's browser tab at 375 px; axe-core is in every page it opens (an init script)."""

    def __init__(self, page: Page, role: str) -> None:
        self.page, self.role = page, role
        self.checks: list[Check] = []
        self._seen: set[str] = set()
        self._answers: set[str] = set()

    def check(self, status: int = 200, ready: str | None = None) -> None:
        if ready:
            # Drawn by a large script (Swagger UI): on a busy machine once past the 10 s default.
            self.page.locator(ready).first.wait_for(timeout=60_000)
        violations = self.page.evaluate(
            """async () => (await axe.run({resultTypes: ['violations']})).violations.map(v => ({
                 id: v.id, impact: v.impact, targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
        )
        blocking = [
            f"{v['id']} ({v['impact']}): {', '.join(v['targets'])}" for v in violations if v["impact"] in BLOCKING
        ]
        width = self.page.evaluate("document.documentElement.scrollWidth")
        stranded = self.page.evaluate(STRANDED_LABELS)
        url = "/" + self.page.url.split("://", 1)[1].split("/", 1)[1]
        self.checks.append(Check(self.role, url, status, width, blocking, len(violations) - len(blocking), stranded))

    def visit(self, url: str, ready: str | None = None) -> None:
        """Check the page `url` shows, unless this tab already checked it: redirects (to the login page,
        say) and error pages (403, 404) look the same from every address; a flash message makes it another page."""
        response = self.page.goto(url)
        status = response.status if response else 0
        shown = self.page.url.split("?", 1)[0] if self.page.url != url else url
        key = f"{f'HTTP {status}' if 400 <= status < 500 else shown} {self.page.locator('.messages li').count()}"
        if key not in self._seen:
            self._seen.add(key)
            self.check(status, ready)

    def visit_if_new_answer(self, url: str) -> None:
        """For the Django admin's model pages (none of these roles may see them): ask how this role is
        answered with a plain request (no rendering, no axe), and open the page only for a new answer:
        a redirect target, an error or a page of its own."""
        response = self.page.request.get(url, max_redirects=0)
        location = urlsplit(response.headers.get("location", "")).path
        answer = url if response.status == 200 else f"HTTP {response.status} {location}"
        if answer not in self._answers:
            self._answers.add(answer)
            self.visit(url)


def on_a_phone(page: Page, axe_js: Path, role: str) -> Phone:
    """`page` at 375 px with axe in every page it opens from now on, checked as `role`."""
    page.set_viewport_size(PHONE)
    page.context.add_init_script(path=axe_js)
    return Phone(page, role)
