"""`make demo`'s last step: start the Stripe sandbox and the web app together; Ctrl-C stops both.

The sandbox keeps its state in `.demo/` next to the SQLite database, so a restart of the demo
finds the same Stripe accounts and payments the database refers to.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

WEB = "127.0.0.1:8000"


def _wait_for_port(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise CommandError(f"nothing answered on {host}:{port} after {timeout:.0f} s")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the demo: the Stripe sandbox, the seed data and the web app."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default=WEB)
        parser.add_argument("--no-seed", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        # Ctrl-C (SIGINT) and a plain `kill` (SIGTERM) both stop everything, even when started from a
        # shell that ignores SIGINT for background jobs.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        api = urlsplit(settings.STRIPE_API_BASE or "http://127.0.0.1:12111")
        state_dir = settings.BASE_DIR / ".demo"
        state_dir.mkdir(exist_ok=True)
        site = f"http://{options['addr']}"
        sandbox_cmd = [
            sys.executable, "-m", "stripe_sandbox",
            "--host", api.hostname or "127.0.0.1", "--port", str(api.port or 12111),
            "--webhook-url", f"{site}/webhooks/stripe/",
            "--webhook-secret", settings.STRIPE_WEBHOOK_SECRETS[0],
            "--connect-webhook-url", f"{site}/webhooks/stripe/connect/",
            "--connect-webhook-secret", settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0],
            "--state", str(state_dir / "sandbox-state.json"),
        ]  # fmt: skip
        children: list[subprocess.Popen[bytes]] = []
        try:
            children.append(subprocess.Popen(sandbox_cmd))
            _wait_for_port(api.hostname or "127.0.0.1", api.port or 12111)
            if not options["no_seed"]:
                call_command("seed_demo", stdout=self.stdout)
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "")}
            web = subprocess.Popen([sys.executable, "manage.py", "runserver", options["addr"], "--noreload"], env=env)
            children.append(web)
            host, _, port = options["addr"].partition(":")
            _wait_for_port(host, int(port or 8000))
            self.stdout.write(self.style.SUCCESS("\nThe marketplace is running:"))
            self.stdout.write(f"  storefront       {site}/")
            self.stdout.write(f"  sell             {site}/sell/")
            self.stdout.write(f"  admin console    {site}/console/")
            self.stdout.write(f"  API docs         {site}/api/v1/docs")
            self.stdout.write(f"  Stripe sandbox   {api.scheme}://{api.netloc}/_sandbox/")
            self.stdout.write("  test card        4242 4242 4242 4242, any future date, any CVC")
            self.stdout.write("Ctrl-C stops everything.")
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            raise CommandError("a demo process exited; see its output above")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo...")
        finally:
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
