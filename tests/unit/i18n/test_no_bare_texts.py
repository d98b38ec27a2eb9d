"""Texts for users go through the catalogs: no English literal handed straight to a chat.

A reply, hint, refusal or caption written as a plain string or f-string would reach a
Chinese reader in English; `t("…")` (bot.i18n) puts it in the catalogs instead.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
# Calls whose first argument (or `caption=`) is read by a person.
USER_FACING = frozenset(
    {
        "send_text",
        "edit_text",
        "Hint",
        "Refused",
        "UserError",
        "BadImage",
        "AttachmentUnavailable",
        "BudgetExceeded",
        "LimitSyntaxError",
    }
)
WORDS = re.compile(r"[A-Za-z]{2,}")


def _name(func: ast.expr) -> str:
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _bare(node: ast.expr) -> bool:
    """A literal with words in it, as a string or an f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(WORDS.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_bare(part) for part in node.values if isinstance(part, ast.Constant))
    return False


def test_user_facing_calls_take_translatable_texts() -> None:
    found = []
    for folder in ("bot", "adapters"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or _name(node.func) not in USER_FACING:
                    continue
                texts = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "caption")]
                if any(_bare(text) for text in texts):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], "wrap these texts in t(…) from bot.i18n"
