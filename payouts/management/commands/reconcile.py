"""`manage.py reconcile [--since YYYY-MM-DD] [--account acct_...]`: Stripe's balance transactions
against the ledger. Prints one line ending in the count of differences; exits 1 when there are any
(2 when it could not run), so a cron or CI step fails loudly."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from marketplace.errors import DomainError
from payouts.reconciliation import reconcile


class Command(BaseCommand):
    help = "Match every Stripe balance transaction (platform and sellers) to the ledger; record the differences."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", help="Only transactions created on or after this day (YYYY-MM-DD, UTC).")
        parser.add_argument("--account", help="Only this connected account (acct_...), or 'platform'.")

    def handle(self, *args: Any, **options: Any) -> None:
        since = None
        if options.get("since"):
            try:
                since = datetime.strptime(options["since"], "%Y-%m-%d").replace(tzinfo=UTC)
            except ValueError:
                raise CommandError(
                    f"--since must be a day as YYYY-MM-DD, not {options['since']!r}.", returncode=2
                ) from None
        account = options.get("account")
        if account == "platform":
            account = ""
        elif account is not None and not re.fullmatch(r"acct_[A-Za-z0-9]+", account):
            raise CommandError(f"--account must be an acct_... id or 'platform', not {account!r}.", returncode=2)
        try:
            result = reconcile(since=since, account=account)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=2) from exc
        self.stdout.write(result.summary)
        if result.run.differences:
            raise SystemExit(1)
