"""The gunicorn the benchmarks measure against, started one way for all of them: `bench_webhooks.py`
(the intake) and `bench_pages.py` (the storefront) each carried the same command before."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def start_gunicorn(*, env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    """`config.wsgi` on 127.0.0.1:`port`: `workers` processes of `threads` threads (gthread), keep-alive
    connections, warnings only. The caller waits for the port and terminates the process."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "config.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env=env,
    )
