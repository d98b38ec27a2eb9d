"""Thin command handlers: take a typed command and the collaborators they name, call a use
case or a query, and say the result. `bot.core` pairs every command with its handler."""
