"""core is the bottom layer: it imports no other Ferry app, so every app can import it."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS_ABOVE_CORE = ("fabric", "jobs", "compliance", "upgrades")


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def core_sources():
    return sorted((ROOT / "core").rglob("*.py"))


def test_core_imports_no_app_above_it():
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in core_sources()
        for line, module in imported_modules(path)
        if module.split(".")[0] in APPS_ABOVE_CORE
    ]
    assert core_sources(), "the core app has no Python files"
    assert offending == []


def test_core_templates_use_no_app_above_it():
    """A template include or extends is an import too."""
    offending = []
    for path in sorted((ROOT / "core" / "templates").rglob("*.html")):
        text = path.read_text()
        offending += [f"{path.relative_to(ROOT)} uses {app}/" for app in APPS_ABOVE_CORE
                      if f'"{app}/' in text or f"'{app}/" in text]
    assert offending == []


@pytest.mark.parametrize("app", APPS_ABOVE_CORE)
def test_apps_no_longer_hold_what_core_shares(app):
    """The shared pieces live in core only: no second copy or forwarding module left behind."""
    leftovers = [name for name in ("roles.py", "audit.py", "crypto.py", "context_processors.py", "views/base.py")
                 if (ROOT / app / name).exists()]
    assert leftovers == []
