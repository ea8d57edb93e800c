"""`run_demo` as a newcomer meets it: it says how long it took, serves the storefront, keeps the
sandbox's state next to its database, mails each demo seller only what is true of it, and refuses to
start a second time on the same ports."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests

from sellers.management.commands.seed_demo_sellers import DEMO_SELLERS
from tests.demo.conftest import ROOT, Demo, demo_env

pytestmark = pytest.mark.slow


def test_the_demo_says_how_long_it_took_and_serves_the_storefront(demo: Demo) -> None:
    ready = re.search(r"The marketplace is running \(ready in (\d+\.\d) s\):", demo.output)
    assert ready, demo.output[-3000:]
    assert float(ready.group(1)) < 60  # the goal after the first install
    assert re.search(r"Database migrated \(\d+\.\d s\)", demo.output)
    assert re.search(r"Demo data seeded \(\d+\.\d s\)", demo.output)
    storefront = requests.get(f"{demo.url}/", timeout=60)
    assert storefront.status_code == 200 and 'class="site-header"' in storefront.text
    assert (demo.db_path.parent / ".demo" / "sandbox-state.json").is_file()


def _mailed_while_seeding(demo: Demo) -> list[tuple[str, str]]:
    """(to, subject) of each email the demo printed (the console backend) until its seed was done."""
    seeding = demo.output.split("Demo data seeded", 1)[0]
    sent = []
    for printed in seeding.split("-" * 79):
        block = re.sub(r"\n[ \t]+", " ", printed)  # long headers are folded onto the next line
        to, subject = re.search(r"^To: (.+)$", block, re.M), re.search(r"^Subject: (.+)$", block, re.M)
        if to and subject:
            sent.append((to.group(1).strip(), subject.group(1).strip()))
    return sent


def test_only_the_sellers_who_can_sell_are_told_they_are_ready_to_sell(demo: Demo) -> None:
    """The restricted and the paused demo sellers went through "active" on their way: they once were
    mailed "ready to sell", with "your listings are visible", which the console contradicted."""
    demo.wait_for_output("Demo data seeded", timeout=60)
    sent = _mailed_while_seeding(demo)
    ready = {to for to, subject in sent if subject.endswith("is ready to sell")}
    assert ready == {d.email for d in DEMO_SELLERS if d.state in ("active", "action_required")}, sent
    restricted = next(d for d in DEMO_SELLERS if d.state == "restricted")
    assert [subject for to, subject in sent if to == restricted.email] == [
        f"[Marketplace] Action required: Stripe needs more information for {restricted.shop}"
    ], sent


def test_a_second_demo_on_the_same_addresses_refuses_to_start(demo: Demo) -> None:
    web, sandbox = urlsplit(demo.url), urlsplit(demo.sandbox_url)
    env = demo_env(demo.db_path.parent, web.port or 0, sandbox.port or 0)
    second = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "run_demo", "--addr", web.netloc, "--no-seed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert second.returncode == 1
    assert f"{sandbox.hostname}:{sandbox.port} is already in use" in second.stderr
    assert requests.get(f"{demo.url}/", timeout=60).status_code == 200  # the first one still runs
