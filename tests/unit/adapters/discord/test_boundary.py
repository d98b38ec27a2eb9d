"""Only the Discord adapter may know that Discord exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
IMPORTS_DISCORD = re.compile(r"^\s*(?:import\s+discord\b|from\s+discord(?:\.|\s))", re.MULTILINE)
ALLOWED = ROOT / "adapters" / "discord"


def _source_files() -> list[Path]:
    return [
        path
        for top in ("bot", "storage", "adapters")
        for path in (ROOT / top).rglob("*.py")
        if "__pycache__" not in path.parts
    ]


def test_the_tree_is_where_we_think() -> None:
    assert (ROOT / "bot" / "core.py").is_file()
    assert (ALLOWED / "platform.py").is_file()


def test_discord_is_imported_only_under_adapters_discord() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in _source_files()
        if IMPORTS_DISCORD.search(path.read_text(encoding="utf-8")) and ALLOWED not in path.parents
    ]
    assert offenders == []


def test_the_adapter_does_import_discord() -> None:
    # Guards the pattern itself: it must find the imports that do exist.
    assert IMPORTS_DISCORD.search((ALLOWED / "platform.py").read_text(encoding="utf-8"))
