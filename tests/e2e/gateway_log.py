"""Helpers for tests that read what the bot sent to the gateway simulator."""

from __future__ import annotations

from typing import Any

from simulator import Simulator


def chat_bodies(sim: Simulator) -> list[dict[str, Any]]:
    """The JSON body of every chat completion request, oldest first."""
    return [r.json for r in sim.requests if r.path == "/v1/chat/completions"]
