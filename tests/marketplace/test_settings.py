"""Settings that must hold wherever the code runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_production_settings_pass_check_deploy_with_zero_warnings() -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x7!" + "k2Pq9vZr4tLm8wNb3yHc6jFd1sGa5eUo0iXy" * 2,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "sqlite:////tmp/check-deploy.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key() -> None:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SECRET_KEY"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_ALLOWED_HOSTS": "x",
        "DATABASE_URL": "sqlite://",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    ("threshold", "options"),
    [
        (None, {"prepare_threshold": 2}),
        ("", {"prepare_threshold": None}),
    ],
)
def test_production_configures_its_database_as_the_other_settings_do(threshold: str | None, options: Any) -> None:
    """Prepared statements (`marketplace.prepared`) in production too, and none when
    `DB_PREPARE_THRESHOLD` is empty (behind a pooler that cannot keep them)."""
    env = {k: v for k, v in os.environ.items() if k != "DB_PREPARE_THRESHOLD"}
    env |= {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "x7!" + "k2Pq9vZr4tLm8wNb3yHc6jFd1sGa5eUo0iXy" * 2,
        "DJANGO_ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgres://shop@db.internal:5432/shop",
    }
    if threshold is not None:
        env["DB_PREPARE_THRESHOLD"] = threshold
    code = (
        "import django, json; django.setup(); from django.conf import settings;"
        " print(json.dumps(settings.DATABASES['default']))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout)
    assert database["OPTIONS"] == options
    assert database["CONN_MAX_AGE"] >= 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_connections_are_kept_alive() -> None:
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] >= 60


@pytest.mark.django_db
def test_database_vendor_is_postgres_when_database_url_is_set() -> None:
    if not os.environ.get("DATABASE_URL"):
        pytest.skip("DATABASE_URL unset: the embedded SQLite of the demo")
    assert connection.vendor == "postgresql"


def test_celery_is_configured_for_at_least_once_delivery() -> None:
    from config.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.task_time_limit and conf.task_soft_time_limit < conf.task_time_limit
    assert conf.worker_prefetch_multiplier == 1
    # Celery's Django fixup reads this to keep DB connections across tasks.
    assert conf.get("CELERY_DB_REUSE_MAX") or conf.get("db_reuse_max")


def test_every_scheduled_task_exists() -> None:
    """A typo in the beat schedule would make a sweeper silently never run."""
    from config.celery import app

    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled, "nothing is scheduled"
    assert scheduled <= set(app.tasks), scheduled - set(app.tasks)


def test_a_hanging_stripe_ends_a_call_before_gunicorn_kills_the_worker() -> None:
    """Otherwise the worker dies mid-checkout: the order stays pending with its stock reserved."""
    import re

    from tests.faults.timing import stripe_call_worst_case_seconds

    commands = [
        line for name in ("Dockerfile", "docker-compose.yml") for line in (ROOT / name).read_text().splitlines()
    ]
    timeouts = [
        int(m.group(1)) for line in commands if "gunicorn" in line for m in [re.search(r"--timeout\W+(\d+)", line)] if m
    ]
    assert len(timeouts) == 2, "both gunicorn commands state their worker timeout"
    assert settings.STRIPE_CONNECT_TIMEOUT <= 5 and settings.STRIPE_READ_TIMEOUT <= 10  # "a few seconds"
    assert stripe_call_worst_case_seconds() == 22.5  # 3 attempts x (2 + 5) s + 0.5 s + 1 s of backoff
    assert stripe_call_worst_case_seconds() < min(timeouts)


def test_the_stripe_api_version_is_pinned_to_the_one_the_sdk_is_typed_for() -> None:
    from marketplace import gateway
    from marketplace.gateway.checks import stripe_api_version_check

    assert settings.STRIPE_API_VERSION == "2026-10-28.endive" == gateway.api_version()
    assert stripe_api_version_check() == []


def test_another_stripe_api_version_is_refused_with_a_clear_message(settings: Any) -> None:
    from django.core.checks import Error
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from marketplace.gateway.checks import API_VERSION_MISMATCH, stripe_api_version_check

    settings.STRIPE_API_VERSION = "2024-04-10"
    [error] = stripe_api_version_check()
    assert isinstance(error, Error) and error.id == API_VERSION_MISMATCH
    assert "'2024-04-10'" in error.msg and "'2026-10-28.endive'" in error.msg and "stripe package" in error.msg
    with pytest.raises(SystemCheckError, match="STRIPE_API_VERSION is '2024-04-10'"):
        call_command("check")


def test_the_app_does_not_start_with_another_stripe_api_version() -> None:
    """`migrate` (which the web container runs before gunicorn) and `runserver` run the checks too."""
    env = {**os.environ, "STRIPE_API_VERSION": "2025-03-31.basil"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "marketplace.E001" in result.stderr and "'2025-03-31.basil'" in result.stderr
