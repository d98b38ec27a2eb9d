"""Every error the bot raises on purpose, in one tree.

    BotError
    ├── Reply                    the chat is told `user_message`; `detail` is for the log only
    │   ├── UserError            the request cannot go ahead as sent (input, limits, rights)
    │   │   ├── Refused          not enabled in this chat, or not allowed to do that
    │   │   ├── BudgetExceeded   a budget would be exceeded (names the limit and its reset)
    │   │   ├── BadImage         a picture that does not decode, or is too large
    │   │   ├── AttachmentUnavailable   an adapter could not fetch a file the user sent
    │   │   └── LimitSyntaxError a budget limit written wrong (also a ValueError for settings)
    │   └── GatewayError         the wenwen gateway failed; status and request id are logged
    │       ├── AuthError, QuotaError, RateLimited, BadRequest, PayloadTooLarge
    │       ├── Unavailable, ModelUnavailable, GatewayTimeout, MalformedResponse
    │       ├── DownloadRefused  a URL the download policy does not allow (internal address…)
    │       └── MjRejected       a Midjourney submit refused: MjBanned, MjBusy
    ├── Silent                   refused and already told: dropped without a reply
    └── ConfigError              a setting is missing or wrong: start-up stops with one line

`text` is a plain attribute on every `Reply`, set when the error is made: a translatable
`bot.i18n.Text` that the core renders in the reader's language (`user_message` is its
English form, for logs and tests). What the user reads never depends on who catches it.
No message ever contains a key or token.

Two signals never leave their module and are not part of the tree: `streaming.Backoff`
(a platform asked to wait) and `ratelimit.SlotsFull` (turned into a UserError by
admission). Storage has its own `RecordNotFound`, since storage imports nothing of ours.
"""

from __future__ import annotations

from typing import ClassVar

from bot.i18n.text import Say, Text, t


class BotError(Exception):
    """Base of every error the bot raises on purpose."""


class Reply(BotError):
    """An error the user is told about, in `user_message`."""

    def __init__(self, user_message: Say, detail: str = "") -> None:
        self.text = user_message if isinstance(user_message, Text) else Text(user_message)
        self.user_message = str(self.text)
        self.detail = detail or self.user_message
        super().__init__(self.detail)


class UserError(Reply):
    """The request cannot go ahead as sent; the message says why and what to do instead."""


class Refused(UserError):
    """Not enabled in this chat, or the sender may not do this here."""


class BudgetExceeded(UserError):
    """The reply names the limit, what is left, and when it resets."""


class BadImage(UserError):
    """A picture that does not decode, has too many pixels, or is too large."""


class AttachmentUnavailable(UserError):
    """A file the user sent could not be fetched from the platform (too big, gone, refused)."""


class LimitSyntaxError(UserError, ValueError):
    """A budget limit that is not `<chat|user>.<day|month>.<cost|tokens|images|mj>=<amount|off>`."""

    def __init__(self, message: Say) -> None:
        super().__init__(message)


class Silent(BotError):
    """Refused, and the user was already told: no reply this time."""


class ConfigError(BotError):
    """A setting is missing or wrong; the message names it in one line."""


# --- the gateway ----------------------------------------------------------------------


class GatewayError(Reply):
    """The gateway failed to do what was asked. `detail`, `status` and `request_id` go to the log."""

    MESSAGE: ClassVar[Text] = t("The AI gateway failed to answer. Please try again later.")

    def __init__(
        self,
        detail: str = "",
        *,
        status: int | None = None,
        request_id: str | None = None,
        user_message: Text | None = None,
    ) -> None:
        super().__init__(user_message or self.MESSAGE, detail)
        self.status = status
        self.request_id = request_id


class AuthError(GatewayError):
    MESSAGE = t("The bot's API key was rejected by the gateway. Please tell the bot's owner.")


class QuotaError(GatewayError):
    MESSAGE = t("The gateway refused: quota exhausted or model not allowed for this key.")


class RateLimited(GatewayError):
    def __init__(
        self,
        detail: str = "",
        *,
        retry_after: float | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        message = (
            t("The gateway is rate limiting us. Try again in {seconds} s.", seconds=round(retry_after))
            if retry_after
            else t("The gateway is rate limiting us. Try again in a minute.")
        )
        super().__init__(detail, status=status, request_id=request_id, user_message=message)
        self.retry_after = retry_after


class BadRequest(GatewayError):
    """The gateway rejected what we sent; its own message is useful to the user."""

    def __init__(self, detail: str = "", *, status: int | None = None, request_id: str | None = None) -> None:
        super().__init__(
            detail,
            status=status,
            request_id=request_id,
            user_message=t("The gateway rejected the request: {reason}", reason=shorten(detail)),
        )


class PayloadTooLarge(GatewayError):
    MESSAGE = t("The images are too large for the gateway. Try fewer or smaller photos.")


class Unavailable(GatewayError):
    MESSAGE = t("The AI service is unavailable right now. Please try again in a few minutes.")


class ModelUnavailable(GatewayError):
    MESSAGE = t("This model is not available for the bot's API key. Ask the owner to change it.")


class Busy(GatewayError):
    """Every connection to the gateway is in use and none came free in time (our limit)."""

    MESSAGE = t("I'm answering a lot of people right now. Please try again in a minute.")


class GatewayTimeout(GatewayError):
    MESSAGE = t("The AI service took too long to answer. Please try again.")


class MalformedResponse(GatewayError):
    MESSAGE = t("The AI gateway sent a reply the bot could not read. Please try again later.")


class DownloadRefused(GatewayError):
    """A link the download policy refuses: an internal address, too many redirects, not an image."""

    MESSAGE = t("An image link in the answer was not fetched (not an allowed address or not an image).")


class MjRejected(GatewayError):
    """A Midjourney submit answered with a failure code (often with HTTP 200)."""

    def __init__(
        self,
        code: int,
        description: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        user_message: Text | None = None,
    ) -> None:
        super().__init__(
            f"midjourney code {code}: {description}",
            status=status,
            request_id=request_id,
            user_message=user_message
            or t("Midjourney refused the task: {reason}", reason=shorten(description)),
        )
        self.code = code
        self.description = description


class MjBanned(MjRejected):
    def __init__(
        self, code: int, description: str, *, status: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(
            code,
            description,
            status=status,
            request_id=request_id,
            user_message=t(
                "Midjourney refused this prompt (it may contain a banned word). Please rephrase it."
            ),
        )


class MjBusy(MjRejected):
    def __init__(
        self, code: int, description: str, *, status: int | None = None, request_id: str | None = None
    ) -> None:
        super().__init__(
            code,
            description,
            status=status,
            request_id=request_id,
            user_message=t("Midjourney's queue is full right now. Please try again in a few minutes."),
        )


def shorten(text: str, limit: int = 200) -> str:
    """Gateway messages end with "(request id: …)": logged, not shown."""
    text = text.split(" (request id:", maxsplit=1)[0].strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
