"""Rules of the house that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Every top-level package of the project, found rather than listed, so that a new app (payments/ ...)
# is under these rules the day it is created.
PROJECT_PACKAGES = frozenset(p.name for p in ROOT.iterdir() if (p / "__init__.py").is_file())
NOT_APP_CODE = frozenset({"tests", "benchmarks", "stripe_sandbox"})
APP_PACKAGES = tuple(sorted(PROJECT_PACKAGES - NOT_APP_CODE))
# The apps of the marketplace's domain, which the platform core must not know.
DOMAIN_APPS = tuple(sorted(set(APP_PACKAGES) - {"config", "marketplace"}))
CORE = ROOT / "marketplace"
GATEWAY = CORE / "gateway"


def _imported_modules(source: str) -> set[str]:
    """Every module a file imports, wherever the import statement is (also inside functions); a relative
    import keeps its dots, so that no allow-list matches it."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def _top_levels(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imported_modules(path.read_text())}


def test_the_app_packages_are_found() -> None:
    assert {"config", "marketplace", "catalog", "fees", "sellers", "orders", "payments", "payouts", "frontend"} <= set(
        APP_PACKAGES
    )
    assert {"catalog", "fees", "sellers", "orders", "payments", "payouts", "frontend"} <= set(DOMAIN_APPS)


def test_only_the_money_apps_services_post_to_the_ledger() -> None:
    """Postings come from the services that record money (`payments/`, `payouts/`), never from views,
    signals, handlers or other apps: one place to read what posts what."""
    posters = sorted(
        str(path.relative_to(ROOT))
        for package in DOMAIN_APPS
        for path in (ROOT / package).rglob("*.py")
        if "marketplace.ledger.services" in _imported_modules(path.read_text())
    )
    assert posters == ["payments/services.py", "payouts/services.py"]


def test_only_the_gateway_imports_stripe() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in APP_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if GATEWAY not in path.parents and "stripe" in _top_levels(path)
    ]
    assert offenders == []
    assert "stripe" in _top_levels(GATEWAY / "__init__.py")  # the check can see an import when there is one


def test_the_platform_core_imports_no_domain_app() -> None:
    """`marketplace/` is the platform core: what it must know of a domain app reaches it through a hook
    the app registers (the sellers' connected accounts: `registry.register_connected_accounts`)."""
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in CORE.rglob("*.py")
        for name in _imported_modules(path.read_text())
        if name.split(".")[0] in DOMAIN_APPS
    )
    assert offenders == []


def test_the_sandbox_imports_nothing_of_the_project() -> None:
    """The sandbox stands for Stripe: it knows neither Django nor any package of this project (tests
    included), so that it cannot bend to the app."""
    forbidden = (PROJECT_PACKAGES - {"stripe_sandbox"}) | {"django"}
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in (ROOT / "stripe_sandbox").rglob("*.py")
        for name in _top_levels(path) & forbidden
    )
    assert offenders == []
    assert "tests" in forbidden and "marketplace" in forbidden


# The ledger is part of the platform core: it knows Django, the standard library and the core's money
# and errors, and nothing of the domain apps that post to it (sellers, orders, catalog, fees, payouts ...).
# `marketplace.prepared`: a Django cursor that binds on the server (no domain knowledge).
LEDGER_MAY_IMPORT = ("django", "marketplace.ledger", "marketplace.money", "marketplace.errors", "marketplace.prepared")


def test_the_ledger_imports_no_domain_app() -> None:
    ledger = ROOT / "marketplace" / "ledger"
    offenders = sorted(
        f"{path.relative_to(ROOT)}: {name}"
        for path in ledger.rglob("*.py")
        for name in _imported_modules(path.read_text())
        if name.split(".")[0] not in sys.stdlib_module_names
        and not any(name == allowed or name.startswith(allowed + ".") for allowed in LEDGER_MAY_IMPORT)
    )
    assert offenders == []
    # The check sees imports, even the lazy ones inside a function.
    assert "marketplace.money" in _imported_modules((ledger / "services.py").read_text())
    assert _imported_modules("def f():\n    from sellers.models import Seller\n") == {"sellers.models"}


def test_the_gateway_hands_out_typed_objects_not_dicts() -> None:
    """Every call of the gateway's Stripe areas returns a type of `gateway.types` (or a plain value),
    so no caller picks a Stripe dict apart. The Events API's raw events (`gateway.events`), which the
    inbox stores exactly as they came, are the one exception."""
    import inspect
    import typing

    from marketplace.gateway import accounts, balances, checkout

    returns = {
        f"{module.__name__}.{name}": typing.get_type_hints(fn)["return"]
        for module in (accounts, balances, checkout)
        for name, fn in inspect.getmembers(module, inspect.isfunction)
        if fn.__module__ == module.__name__ and not name.startswith("_")
    }
    assert len(returns) >= 10
    assert [name for name, ret in returns.items() if "dict" in str(ret).lower() or ret is typing.Any] == []
