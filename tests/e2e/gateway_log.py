"""Helpers for tests that read what the bot sent to the gateway simulator."""

from __future__ import annotations

from typing import Any

from simulator import Simulator

CHAT_COMPLETIONS = "/v1/chat/completions"
MESSAGES = "/v1/messages"  # the Anthropic format


def chat_completion_bodies(sim: Simulator) -> list[dict[str, Any]]:
    """The JSON body of every OpenAI-format chat request, oldest first (refused ones too)."""
    return [r.json for r in sim.requests if r.path == CHAT_COMPLETIONS]


def answered_chat_bodies(sim: Simulator) -> list[dict[str, Any]]:
    """Chat requests the gateway answered, in either format (OpenAI, or Anthropic for Claude)."""
    return [r.json for r in sim.requests if r.path in (CHAT_COMPLETIONS, MESSAGES) and r.status == 200]


def chat_turn_bodies(sim: Simulator) -> list[dict[str, Any]]:
    """OpenAI-format requests offering tools: the conversation's turns, not the caption classifier."""
    return [r.json for r in sim.requests if r.path == CHAT_COMPLETIONS and "tools" in r.json]
