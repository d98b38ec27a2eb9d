"""Make a JSON value that satisfies a JSON Schema, steered by the user's text.

Covers what structured-output and tool schemas use in practice, including
pydantic's output: objects, arrays, strings (with formats and lengths),
numbers, booleans, null, enums, const, local ``$ref``, anyOf/oneOf/allOf and
type lists.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from .prompts import clean_prompt, strip_markers, wants_picture

_MAX_DEPTH = 12
_PROMPT_NAMES = frozenset({"text", "query", "content", "message", "input", "caption", "subject"})
_FORMATS = {
    "date-time": "2025-01-01T00:00:00Z",
    "date": "2025-01-01",
    "time": "00:00:00",
    "uri": "https://example.com/sim",
    "url": "https://example.com/sim",
    "email": "sim@example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}
_PICTURE_WORDS = ("image", "draw", "picture", "generat", "paint")


def is_prompt_name(name: str) -> bool:
    lowered = name.lower()
    return "prompt" in lowered or lowered in _PROMPT_NAMES or lowered.endswith("_text")


def pick_enum(values: Sequence[Any], name: str, text: str) -> Any:
    """First enum value present as a word in the text; intent heuristics; else the first."""
    lowered = text.lower()
    for value in values:
        if (
            isinstance(value, str)
            and value
            and re.search(rf"(?<!\w){re.escape(value.lower())}(?!\w)", lowered)
        ):
            return value
    if "intent" in name.lower():
        strings = [v for v in values if isinstance(v, str)]
        if wants_picture(text):
            for value in strings:
                if any(word in value.lower() for word in _PICTURE_WORDS):
                    return value
        if text.rstrip().endswith(("?", "？")) and "question" in strings:
            return "question"
    return values[0] if values else None


class SchemaFiller:
    """Generates values for one schema document (``root`` resolves ``$ref``)."""

    def __init__(self, root: Mapping[str, Any], text: str, *, tool_args: bool = False) -> None:
        self._root = root
        self._text = text
        # Tool arguments carry the request's subject in every string parameter.
        self._tool_args = tool_args

    def fill(self) -> Any:
        return self.value(self._root, "", 0)

    def object_args(self) -> dict[str, Any]:
        """Tool arguments: the required parameters (or the first string one if none)."""
        schema = self._resolve(self._root)
        props = schema.get("properties")
        if not isinstance(props, dict):
            return {}
        required = [n for n in schema.get("required", []) if n in props]
        if not required:
            required = [n for n, s in props.items() if self._resolve(s).get("type") == "string"][:1]
        return {n: self.value(props[n], n, 1) for n in required}

    def _resolve(self, schema: Any) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < _MAX_DEPTH:
            target: Any = self._root
            for part in schema["$ref"].lstrip("#/").split("/"):
                target = target.get(part, {}) if isinstance(target, Mapping) and part else target
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **extra} if isinstance(target, Mapping) else extra
            seen += 1
        return schema if isinstance(schema, Mapping) else {}

    def value(self, raw: Any, name: str, depth: int) -> Any:
        schema = self._resolve(raw)
        if depth > _MAX_DEPTH:
            return None
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return pick_enum(schema["enum"], name, self._text)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                chosen = next((o for o in options if self._resolve(o).get("type") != "null"), options[0])
                return self.value(chosen, name, depth + 1)
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part))
            merged.update({k: v for k, v in schema.items() if k != "allOf"})
            return self.value(merged, name, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "array" if "items" in schema else "string"
        return self._typed(str(kind), schema, name, depth)

    def _typed(self, kind: str, schema: Mapping[str, Any], name: str, depth: int) -> Any:
        if kind == "object":
            props = schema.get("properties")
            if not isinstance(props, dict):
                return {}
            return {key: self.value(sub, key, depth + 1) for key, sub in props.items()}
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            if isinstance(schema.get("maxItems"), int):
                count = min(count, schema["maxItems"])
            items = schema.get("items", {})
            return [self.value(items, name, depth + 1) for _ in range(count)]
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer")
        if kind == "boolean":
            return False
        if kind == "null":
            return None
        return self._string(schema, name)

    @staticmethod
    def _number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
        value: float = 1
        if isinstance(schema.get("minimum"), int | float):
            value = max(value, schema["minimum"])
        if isinstance(schema.get("exclusiveMinimum"), int | float):
            value = max(value, schema["exclusiveMinimum"] + 1)
        if isinstance(schema.get("maximum"), int | float):
            value = min(value, schema["maximum"])
        if isinstance(schema.get("exclusiveMaximum"), int | float):
            value = min(value, schema["exclusiveMaximum"] - 1)
        return int(value) if integer else value

    def _string(self, schema: Mapping[str, Any], name: str) -> str:
        fmt = schema.get("format")
        if isinstance(fmt, str) and fmt in _FORMATS:
            return _FORMATS[fmt]
        if self._tool_args or is_prompt_name(name):
            text = clean_prompt(self._text)
        else:
            text = strip_markers(self._text)
        if isinstance(schema.get("maxLength"), int):
            text = text[: schema["maxLength"]]
        if isinstance(schema.get("minLength"), int) and len(text) < schema["minLength"]:
            text = text.ljust(schema["minLength"], "x")
        return text
