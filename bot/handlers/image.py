"""/image: text-to-image through /v1/images/generations."""

from __future__ import annotations

from bot import commands as c
from bot.handlers.progress import slow_work
from bot.model import OutImage
from bot.services import Context


async def handle_generate(cmd: c.GenerateImage, ctx: Context) -> None:
    await generate(cmd, ctx)


async def generate(cmd: c.GenerateImage, ctx: Context) -> list[bytes]:
    """Draw, record usage, send; returns the images (the chat's image tool keeps them)."""
    s = ctx.services
    model = s.settings.image_model
    async with slow_work(ctx.out, "🖌️ Drawing… this usually takes 20–60 s."):
        result = await s.gateway.generate_image(cmd.prompt, model)
    await s.ledger.record(
        s.db, s.ledger.image_event(ctx.msg.address, ctx.msg.user, "image_generation", result)
    )
    await ctx.out.send_images(
        [OutImage(data, f"image{n}.png") for n, data in enumerate(result.images, 1)],
        caption=cmd.prompt[:200],
    )
    return result.images
