"""The gateway's failures as a small exception tree.

Each carries a short, honest `user_message` for the chat; the detail (status, gateway
message, request id) is for the log. No exception ever contains the API key.
"""

from __future__ import annotations


class GatewayError(Exception):
    user_message = "The AI gateway failed to answer. Please try again later."

    def __init__(self, detail: str = "", *, status: int | None = None, request_id: str | None = None):
        # Set first: some `user_message` properties read these.
        self.detail = detail
        self.status = status
        self.request_id = request_id
        super().__init__(detail or self.user_message)


class AuthError(GatewayError):
    user_message = "The bot's API key was rejected by the gateway. Please tell the bot's owner."


class QuotaError(GatewayError):
    user_message = "The gateway refused: quota exhausted or model not allowed for this key."


class RateLimited(GatewayError):
    def __init__(
        self,
        detail: str = "",
        *,
        retry_after: float | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(detail, status=status, request_id=request_id)

    @property
    def user_message(self) -> str:  # type: ignore[override]
        if self.retry_after:
            return f"The gateway is rate limiting us. Try again in {round(self.retry_after)} s."
        return "The gateway is rate limiting us. Try again in a minute."


class BadRequest(GatewayError):
    """The gateway rejected what we sent; its own message is useful to the user."""

    @property
    def user_message(self) -> str:  # type: ignore[override]
        return f"The gateway rejected the request: {shorten(self.detail)}"


class PayloadTooLarge(GatewayError):
    user_message = "The images are too large for the gateway. Try fewer or smaller photos."


class Unavailable(GatewayError):
    user_message = "The AI service is unavailable right now. Please try again in a few minutes."


class ModelUnavailable(GatewayError):
    user_message = "This model is not available for the bot's API key. Ask the owner to change it."


class GatewayTimeout(GatewayError):
    user_message = "The AI service took too long to answer. Please try again."


class MalformedResponse(GatewayError):
    user_message = "The AI gateway sent a reply the bot could not read. Please try again later."


class MjRejected(GatewayError):
    """A Midjourney submit answered with a failure code (often with HTTP 200)."""

    def __init__(
        self, code: int, description: str, *, status: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(f"midjourney code {code}: {description}", status=status, request_id=request_id)
        self.code = code
        self.description = description

    @property
    def user_message(self) -> str:  # type: ignore[override]
        return f"Midjourney refused the task: {shorten(self.description)}"


class MjBanned(MjRejected):
    @property
    def user_message(self) -> str:  # type: ignore[override]
        return "Midjourney refused this prompt (it may contain a banned word). Please rephrase it."


class MjBusy(MjRejected):
    @property
    def user_message(self) -> str:  # type: ignore[override]
        return "Midjourney's queue is full right now. Please try again in a few minutes."


def shorten(text: str, limit: int = 200) -> str:
    """Gateway messages end with "(request id: …)": logged, not shown."""
    text = text.split(" (request id:", maxsplit=1)[0].strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
