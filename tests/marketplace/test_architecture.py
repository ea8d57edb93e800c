"""Rules of the house that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APP_PACKAGES = ("config", "marketplace", "sellers", "orders", "payouts", "frontend")
GATEWAY = ROOT / "marketplace" / "gateway"


def _imports_stripe(path: Path) -> bool:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "stripe" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").split(".")[0] == "stripe":
            return True
    return False


def test_only_the_gateway_imports_stripe() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in APP_PACKAGES
        for path in (ROOT / package).rglob("*.py")
        if GATEWAY not in path.parents and _imports_stripe(path)
    ]
    assert offenders == []
    assert _imports_stripe(GATEWAY / "__init__.py")  # the check can see an import when there is one


def test_the_sandbox_imports_no_django() -> None:
    for path in (ROOT / "stripe_sandbox").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] == "django" for n in names), path
