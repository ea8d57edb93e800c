"""`run_demo` as a newcomer meets it: it says how long it took, serves the storefront, keeps the
sandbox's state next to its database, and refuses to start a second time on the same ports."""

from __future__ import annotations

import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
import requests

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
