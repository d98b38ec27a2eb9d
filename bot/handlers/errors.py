"""Refusals caused by the user's input, answered in the chat as they are."""


class UserError(Exception):
    """Bad input (corrupt photo, file too large…); the message is shown to the user."""
