"""The shape the design card promises: a neutral core, platforms only at the edge."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_LIBRARIES = ("aiogram", "discord")


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every module each file imports, including imports inside functions."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def top(name: str) -> str:
    return name.split(".", 1)[0]


@pytest.mark.parametrize("package", ["bot", "storage"])
def test_the_core_never_imports_a_platform_library(package: str) -> None:
    offenders = {
        path: sorted(n for n in names if top(n) in PLATFORM_LIBRARIES)
        for path, names in imported_modules(package).items()
    }
    assert {p: n for p, n in offenders.items() if n} == {}


def test_storage_depends_on_nothing_of_ours() -> None:
    offenders = {
        path: sorted(n for n in names if top(n) in ("bot", "adapters"))
        for path, names in imported_modules("storage").items()
    }
    assert {p: n for p, n in offenders.items() if n} == {}


def test_each_platform_library_stays_in_its_own_adapter() -> None:
    for path, names in imported_modules("adapters").items():
        used = {top(n) for n in names} & set(PLATFORM_LIBRARIES)
        for library in used:
            expected = "telegram" if library == "aiogram" else "discord"
            assert path.startswith(f"adapters/{expected}/"), f"{path} imports {library}"


def test_loading_the_app_does_not_load_platform_libraries() -> None:
    """Adapters are imported only when their token is set."""
    code = (
        "import sys, bot.app, bot.core, simulator, storage; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiogram', 'discord')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"


def test_use_cases_and_handlers_import_no_adapter() -> None:
    for package in ("bot/usecases", "bot/handlers", "bot/chat", "bot/usage", "bot/admission"):
        offenders = {
            path: sorted(n for n in names if top(n) == "adapters")
            for path, names in imported_modules(package).items()
        }
        assert {p: n for p, n in offenders.items() if n} == {}, package


def test_adapters_import_no_handler_internals() -> None:
    """Adapters talk to the core through bot.core, the neutral model, commands and the router."""
    allowed_prefixes = ("bot.handlers",)
    for path, names in imported_modules("adapters").items():
        inside = sorted(n for n in names if n.startswith(allowed_prefixes))
        assert inside == [], f"{path} imports {inside}"


def test_handlers_never_call_each_other() -> None:
    """Reusable work lives in use cases; handlers are leaves called only by the core."""
    for path, names in imported_modules("bot/handlers").items():
        assert not [n for n in names if n.startswith("bot.handlers")], path
    for package in ("bot/usecases", "bot/chat"):
        for path, names in imported_modules(package).items():
            assert not [n for n in names if n.startswith("bot.handlers")], path


def test_the_ledger_knows_nothing_of_budgets() -> None:
    """A usage event settles a budget hold only where it is recorded (bot.usage.recorder)."""
    assert "bot.usage.budgets" not in imported_modules("bot/usage")["bot/usage/ledger.py"]


def test_the_simulator_is_its_own_package() -> None:
    offenders = {
        path: sorted(n for n in names if top(n) in ("bot", "adapters", "storage"))
        for path, names in imported_modules("simulator").items()
    }
    assert {p: n for p, n in offenders.items() if n} == {}
