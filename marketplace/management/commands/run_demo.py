"""`make demo`'s one command: migrate, start the Stripe sandbox and the web app, seed, and run the
beat jobs in-process; Ctrl-C stops everything.

The steps overlap where they can: the database migrates while the sandbox starts, and the demo data
is seeded while the web app boots (the sandbox retries the webhooks it sends meanwhile). It prints
how long it took to "The marketplace is running", counted from `make demo`'s start when make says
when that was (DEMO_STARTED_AT, Unix seconds), else from this command's.

The sandbox keeps its state in `.demo/` next to the SQLite database, so a restart of the demo finds
the same Stripe accounts and payments the database refers to, and a demo on another database file
(a test's) has its own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from marketplace.beat import InProcessBeat

WEB = "127.0.0.1:8000"


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _wait_for_port(host: str, port: int, child: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not _answers(host, port):
        if child.poll() is not None:
            raise CommandError(f"the process meant to listen on {host}:{port} exited; see its output above")
        if time.monotonic() > deadline:
            raise CommandError(f"nothing answered on {host}:{port} after {timeout:.0f} s")
        time.sleep(0.05)


def _refuse_if_taken(host: str, port: int) -> None:
    if _answers(host, port):
        raise CommandError(f"{host}:{port} is already in use: stop what runs there, or pick another address")


def _state_dir() -> Path:
    """`.demo/` next to the SQLite database file (the project's for any other database)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] == "django.db.backends.sqlite3" and str(db["NAME"]) != ":memory:":
        return Path(db["NAME"]).resolve().parent / ".demo"
    return Path(settings.BASE_DIR) / ".demo"


def _started_at() -> float:
    try:
        return float(os.environ.get("DEMO_STARTED_AT", ""))
    except ValueError:  # unset, or a `date` without %N
        return time.time()


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the demo: migrate, the Stripe sandbox, the seed data, the web app and the beat jobs."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--addr", default=WEB)
        parser.add_argument("--no-seed", action="store_true")

    def _step(self, what: str) -> None:
        self.stdout.write(f"{what} ({time.time() - self.started:.1f} s)")

    def handle(self, *args: Any, **options: Any) -> None:
        self.started = _started_at()
        # Ctrl-C (SIGINT) and a plain `kill` (SIGTERM) both stop everything, even when started from a
        # shell that ignores SIGINT for background jobs.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        api = urlsplit(settings.STRIPE_API_BASE or "http://127.0.0.1:12111")
        api_host, api_port = api.hostname or "127.0.0.1", api.port or 12111
        web_host, _, web_port = options["addr"].partition(":")
        _refuse_if_taken(api_host, api_port)
        _refuse_if_taken(web_host, int(web_port or 8000))
        state_dir = _state_dir()
        state_dir.mkdir(parents=True, exist_ok=True)
        site = f"http://{options['addr']}"
        sandbox_cmd = [
            sys.executable, "-m", "stripe_sandbox",
            "--host", api_host, "--port", str(api_port),
            "--webhook-url", f"{site}/webhooks/stripe/",
            "--webhook-secret", settings.STRIPE_WEBHOOK_SECRETS[0],
            "--connect-webhook-url", f"{site}/webhooks/stripe/connect/",
            "--connect-webhook-secret", settings.STRIPE_CONNECT_WEBHOOK_SECRETS[0],
            "--state", str(state_dir / "sandbox-state.json"),
        ]  # fmt: skip
        # This command ran the system checks already; the web app skips them.
        web_cmd = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "runserver", options["addr"]]
        web_cmd += ["--noreload", "--skip-checks"]
        children: list[subprocess.Popen[bytes]] = []
        beat: InProcessBeat | None = None
        try:
            sandbox = subprocess.Popen(sandbox_cmd)
            children.append(sandbox)
            call_command("migrate", interactive=False, verbosity=0)
            self._step("Database migrated")
            _wait_for_port(api_host, api_port, sandbox)
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE}
            web = subprocess.Popen(web_cmd, env=env)
            children.append(web)
            if not options["no_seed"]:
                call_command("seed_demo", stdout=self.stdout)
                self._step("Demo data seeded")
            _wait_for_port(web_host, int(web_port or 8000), web)
            if settings.CELERY_TASK_ALWAYS_EAGER:  # else a real `celery beat` runs them
                beat = InProcessBeat(settings.CELERY_BEAT_SCHEDULE).start()
                self.stdout.write(f"Beat jobs run in this process: {', '.join(settings.CELERY_BEAT_SCHEDULE)}")
            self.stdout.write(
                self.style.SUCCESS(f"\nThe marketplace is running (ready in {time.time() - self.started:.1f} s):")
            )
            self.stdout.write(f"  storefront       {site}/")
            self.stdout.write(f"  sell             {site}/sell/")
            self.stdout.write(f"  admin console    {site}/console/")
            self.stdout.write(f"  API docs         {site}/api/v1/docs")
            self.stdout.write(f"  Stripe sandbox   {api.scheme}://{api.netloc}/_sandbox/")
            self.stdout.write("  test card        4242 4242 4242 4242, any future date, any CVC")
            self.stdout.write("Ctrl-C stops everything.")
            self.stdout.flush()
            while all(child.poll() is None for child in children):
                time.sleep(0.5)
            raise CommandError("a demo process exited; see its output above")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping the demo...")
        finally:
            if beat is not None:
                beat.stop()
            for child in reversed(children):
                if child.poll() is None:
                    child.terminate()
            for child in children:
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
