"""``python -m stripe_sandbox``: run the sandbox in the foreground (options also from STRIPE_SANDBOX_* env vars)."""

from __future__ import annotations

import argparse
import os
import signal
import threading

from .sandbox import Sandbox


def main(argv: list[str] | None = None) -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m stripe_sandbox", description=__doc__)
    parser.add_argument("--host", default=env("STRIPE_SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("STRIPE_SANDBOX_PORT", "12111")))
    parser.add_argument("--webhook-url", default=env("STRIPE_SANDBOX_WEBHOOK_URL"))
    parser.add_argument("--webhook-secret", default=env("STRIPE_SANDBOX_WEBHOOK_SECRET"))
    parser.add_argument("--connect-webhook-url", default=env("STRIPE_SANDBOX_CONNECT_WEBHOOK_URL"))
    parser.add_argument("--connect-webhook-secret", default=env("STRIPE_SANDBOX_CONNECT_WEBHOOK_SECRET"))
    parser.add_argument("--state", default=env("STRIPE_SANDBOX_STATE"), help="JSON file keeping state across restarts")
    parser.add_argument("--api-version", default=env("STRIPE_SANDBOX_API_VERSION"))
    parser.add_argument("--retry-base", type=float, default=float(env("STRIPE_SANDBOX_RETRY_BASE", "0.2")))
    parser.add_argument("--max-attempts", type=int, default=int(env("STRIPE_SANDBOX_MAX_ATTEMPTS", "5")))
    args = parser.parse_args(argv)
    extra = {"api_version": args.api_version} if args.api_version else {}
    sb = Sandbox(
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        connect_webhook_url=args.connect_webhook_url,
        connect_webhook_secret=args.connect_webhook_secret,
        host=args.host,
        port=args.port,
        state_file=args.state,
        retry_base=args.retry_base,
        max_attempts=args.max_attempts,
        **extra,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    sb.start()
    print(f"stripe-sandbox listening on {sb.url} (control page: {sb.url}/_sandbox/)", flush=True)
    try:
        done.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()


if __name__ == "__main__":
    main()
