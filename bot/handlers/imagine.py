"""/imagine, /blend and Midjourney buttons: submit, persist, hand over to the tracker."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bot import commands as c
from bot.handlers.errors import UserError
from bot.handlers.photos import fetch_images
from bot.midjourney import MJ_IMAGE_LIMIT, status_text
from bot.services import Context
from storage import MjTaskRecord

log = logging.getLogger(__name__)


async def handle_imagine(cmd: c.Imagine, ctx: Context) -> None:
    s = ctx.services
    references: list[str] = []
    if cmd.images:
        checked = await fetch_images(cmd.images, min(s.settings.max_image_bytes, MJ_IMAGE_LIMIT))
        references = [image.data_url() for image in checked]
    task_id = await s.gateway.mj_imagine(cmd.prompt, images=references, mode=s.settings.mj_mode.value)
    await _start(ctx, task_id, "IMAGINE", cmd.prompt, "mj_imagine")


async def handle_blend(cmd: c.Blend, ctx: Context) -> None:
    s = ctx.services
    checked = await fetch_images(cmd.images, min(s.settings.max_image_bytes, MJ_IMAGE_LIMIT))
    task_id = await s.gateway.mj_blend(
        [image.data_url() for image in checked], dimensions=cmd.dimensions, mode=s.settings.mj_mode.value
    )
    await _start(ctx, task_id, "BLEND", f"{len(checked)} photos, {cmd.dimensions.lower()}", "mj_blend")


async def handle_button(cmd: c.MjButtonPress, ctx: Context) -> None:
    s = ctx.services
    async with s.db.unit_of_work() as uow:
        parent = await uow.mj_tasks.get(cmd.task_id)
    if parent is None or not 0 <= cmd.button < len(parent.buttons):
        raise UserError("This button has expired. Start again with /imagine.")
    if parent.chat_key != ctx.msg.address.key:
        raise UserError("This button belongs to another chat.")
    button = parent.buttons[cmd.button]
    task_id = await s.gateway.mj_action(parent.task_id, button.custom_id)
    label = button.label or button.emoji or "action"
    prompt = f"{label} · {parent.prompt}"
    await _start(ctx, task_id, action_of(button.custom_id), prompt, "mj_action", parent=parent.task_id)


async def handle_seed(cmd: c.MjSeed, ctx: Context) -> None:
    """The seed of a delivered image (/mj/task/{id}/image-seed), to reuse with --seed."""
    async with ctx.services.db.unit_of_work() as uow:
        task = await uow.mj_tasks.get(cmd.task_id)
    if task is None or task.chat_key != ctx.msg.address.key:
        raise UserError("This button has expired.")
    seed = await ctx.services.gateway.mj_image_seed(task.task_id)
    await ctx.out.send_text(f"🌱 Seed of this image: {seed}\nReuse it with --seed {seed} in /imagine.")


def action_of(custom_id: str) -> str:
    """The task action a button starts, from its customId (MJ::JOB::upsample::1::…)."""
    parts = custom_id.split("::")
    verb = parts[2] if len(parts) > 2 and parts[1] == "JOB" else (parts[1] if len(parts) > 1 else "")
    known = {
        "upsample": "UPSCALE",
        "variation": "VARIATION",
        "reroll": "REROLL",
        "Outpaint": "ZOOM",
        "low_variation": "LOW_VARIATION",
        "high_variation": "HIGH_VARIATION",
    }
    if verb.startswith("pan_"):
        return "PAN"
    if verb.startswith("upsample"):
        return "UPSCALE"
    return known.get(verb, "ACTION")


async def _start(
    ctx: Context, task_id: str, action: str, prompt: str, kind: str, *, parent: str | None = None
) -> None:
    """Persist the task and its usage first (nothing lost on a crash), then show status."""
    s = ctx.services
    address = ctx.msg.address
    now = datetime.now(UTC)
    record = MjTaskRecord(
        task_id=task_id,
        chat_key=address.key,
        platform=address.platform,
        chat_id=address.chat_id,
        thread_id=address.thread_id,
        user_id=ctx.msg.user.id,
        user_name=ctx.msg.user.name,
        reply_to_message_id=ctx.msg.message_id,
        status_message_id=None,
        result_message_id=None,
        action=action,
        prompt=prompt,
        parent_task_id=parent,
        status="",
        progress="0%",
        buttons=(),
        image_url=None,
        fail_reason=None,
        delivered=False,
        created_at=now,
        updated_at=now,
        finished_at=None,
    )
    async with s.db.unit_of_work() as uow:
        await uow.mj_tasks.add(record)
        await s.ledger.add(
            uow,
            s.ledger.event(
                address,
                ctx.msg.user,
                kind,
                "midjourney-" + s.settings.mj_mode.value.lower(),
                request_key=f"mj:{task_id}",
                mj_tasks=1,
                task_id=task_id,
            ),
        )
        await uow.commit()
    log.info("midjourney %s task %s submitted for %s", action, task_id, address.key)
    try:
        note = await ctx.out.send_text(status_text(action, prompt, "", "0%"))
        async with s.db.unit_of_work() as uow:
            await uow.mj_tasks.set_status_message(task_id, note.message_id)
            await uow.commit()
    finally:
        # The task is stored either way; without a status message the tracker posts one.
        s.mj.wake()
