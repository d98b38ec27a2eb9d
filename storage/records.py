"""Plain, frozen values that cross the package boundary (ORM rows never do)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from storage.clock import utc_now

CHAT_KINDS = frozenset({"private", "group"})
Role = Literal["user", "assistant"]
ROLES: frozenset[str] = frozenset({"user", "assistant"})
# Midjourney statuses after which a task never changes again.
FINISHED_MJ_STATUSES = frozenset({"SUCCESS", "FAILURE", "CANCEL"})


class RecordNotFound(LookupError):
    """A repository was asked to change a row that does not exist."""


@dataclass(frozen=True)
class ChatRecord:
    key: str
    platform: str
    chat_id: str
    kind: str
    title: str
    conversation_epoch: int
    system_prompt: str | None
    chat_model: str | None
    voice_replies: bool = False


@dataclass(frozen=True)
class UsageEvent:
    chat_key: str
    platform: str
    user_id: str
    user_name: str
    kind: str
    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    image_tokens: int = 0
    images: int = 0
    mj_tasks: int = 0
    request_key: str | None = None
    task_id: str | None = None
    cost: Decimal = Decimal(0)
    currency: str | None = None
    created_at: datetime | None = None  # None: now


@dataclass(frozen=True)
class UsageTotals:
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    image_tokens: int
    images: int
    mj_tasks: int
    cost: Decimal
    # Events recorded without a price (a model missing from the price table): cost 0.
    unpriced: int = 0

    @classmethod
    def zero(cls) -> UsageTotals:
        return cls(0, 0, 0, 0, 0, 0, 0, Decimal(0))


@dataclass(frozen=True)
class UserUsage:
    user_id: str
    user_name: str
    totals: UsageTotals


@dataclass(frozen=True)
class ChatUsage:
    chat_key: str
    title: str
    totals: UsageTotals


@dataclass(frozen=True)
class UsageReport:
    totals: UsageTotals
    by_kind: dict[str, UsageTotals]
    by_model: dict[str, UsageTotals]
    top_users: list[UserUsage]


@dataclass(frozen=True)
class TurnImage:
    mime: str
    data: bytes


@dataclass(frozen=True)
class Turn:
    id: int
    role: Role
    content: str
    tokens: int
    created_at: datetime
    images: tuple[TurnImage, ...] = ()
    user_id: str | None = None
    answer_key: str | None = None


@dataclass(frozen=True)
class Window:
    """The newest turns of a conversation that fit a token budget, oldest first."""

    turns: list[Turn]
    complete: bool  # nothing older in the conversation: these are all its turns


@dataclass(frozen=True)
class MjButton:
    custom_id: str
    label: str = ""
    emoji: str = ""


@dataclass(frozen=True, kw_only=True)
class MjTaskRecord:
    """One Midjourney task and where its progress and result go.

    Keyword-only: too many fields to pass by position safely. Message and thread ids
    are strings, whatever the platform.
    """

    task_id: str
    chat_key: str
    platform: str
    chat_id: str
    thread_id: str | None = None
    user_id: str
    user_name: str
    reply_to_message_id: str | None = None
    status_message_id: str | None = None
    result_message_id: str | None = None
    action: str
    prompt: str
    parent_task_id: str | None = None
    status: str = ""
    progress: str = ""
    buttons: tuple[MjButton, ...] = ()
    image_url: str | None = None
    fail_reason: str | None = None
    delivered: bool = False
    created_at: datetime = field(default_factory=utc_now)
    updated_at: datetime = field(default_factory=utc_now)
    finished_at: datetime | None = None
    job_id: str | None = None
    lease_owner: str | None = None
    # The reader's language when they asked ("zh_Hans"): progress and the result follow it.
    language: str | None = None
    final_prompt: str | None = None


@dataclass(frozen=True)
class MjPromptRequest:
    """The chat was asked for a prompt for `task_id` (waiting in MODAL); answered once."""

    id: str
    task_id: str
    chat_key: str
    user_id: str
    action: str
    message_id: str | None
    created_at: datetime
    expires_at: datetime
    answered_at: datetime | None


@dataclass(frozen=True)
class BudgetLimit:
    """A chat's own limit; `amount` None means "no limit here", whatever the default says."""

    chat_key: str
    scope: str
    period: str
    metric: str
    amount: Decimal | None
    set_by: str
    # A bot admin's value, which the chat's own admins may not exceed (when `capped`).
    capped: bool = False
    ceiling: Decimal | None = None


@dataclass(frozen=True)
class Reservation:
    """What a request in flight is expected to use, counted against budgets until it settles."""

    chat_key: str
    user_id: str
    expires_at: datetime
    cost: Decimal = Decimal(0)
    tokens: int = 0
    images: int = 0
    mj_tasks: int = 0
    instance_id: str = ""


@dataclass(frozen=True)
class Reserved:
    """The sum of live reservations."""

    cost: Decimal = Decimal(0)
    tokens: int = 0
    images: int = 0
    mj_tasks: int = 0
    count: int = 0


@dataclass(frozen=True)
class JobRecord:
    """A paid, slow job and where its result goes (see storage.jobs for the states)."""

    id: str
    kind: str
    state: str
    instance_id: str
    chat_key: str
    platform: str
    chat_id: str
    thread_id: str | None
    user_id: str
    user_name: str
    reply_to_message_id: str | None
    summary: str
    key: str | None = None
    source: str | None = None
    gateway_id: str | None = None
    result_message_id: str | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class JobResult:
    mime: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class InboundUpdate:
    platform: str
    update_id: str
    payload: str = field(repr=False)
    received_at: datetime | None = None
