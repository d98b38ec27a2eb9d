"""The Discord adapter: the only package that imports discord.py.

- `translate`: discord.py messages and interactions → `bot.model.Incoming`
- `outbox`: neutral replies → channel messages (split at 2000, images fitted to the upload limit)
- `views`: button rows → `discord.ui.View`; presses are routed by custom_id, so they survive restarts
- `commands`: the slash commands, named and described as in `bot.router.COMMANDS`
- `platform`: `DiscordPlatform` (client, events, error boundary) and its `Messenger`
"""
