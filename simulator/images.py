"""POST /v1/images/generations and POST /v1/images/edits."""

from __future__ import annotations

import re
import time
from typing import Any

from aiohttp import web
from PIL import Image

from . import pictures as pics
from .bodies import Form, FormFile, read_json_object, read_multipart
from .datauri import b64encode
from .errors import ApiError, openai_error
from .image_rules import (
    ImageParams,
    Invalid,
    check_generation,
    check_n,
    check_prompt,
    check_quality,
    check_response_format,
    check_size,
)
from .state import SimState, sim_state
from .tokens import IMAGE_TOKENS, image_output_tokens, text_tokens

MB = 1024 * 1024
DALLE2_MAX_BYTES = 4 * MB
GPT_IMAGE_MAX_BYTES = 25 * MB
GPT_IMAGE_MAX_FILES = 16
GPT_IMAGE_FORMATS = frozenset({"PNG", "WEBP", "JPEG"})
_IMAGE_FIELD = re.compile(r"^image(?:\[\d*\])?$")


def _invalid(request: web.Request, exc: Invalid) -> ApiError:
    return openai_error(request, 400, str(exc), code=exc.code)


def _output_size(state: SimState, params: ImageParams) -> tuple[int, int]:
    px = state.config.image_px
    if params.size is None:
        return px, px
    return pics.fit_size(*params.size, px)


def _respond(
    request: web.Request,
    kind: str,
    params: ImageParams,
    pngs: list[bytes],
    *,
    input_image_tokens: int = 0,
) -> web.Response:
    state = sim_state(request)
    data: list[dict[str, Any]] = []
    for png in pngs:
        if params.response_format == "b64_json":
            item: dict[str, Any] = {"b64_json": b64encode(png)}
        else:
            name = state.files.put(png)
            item = {"url": f"{request.url.origin()}/__sim/files/{name}"}
        if params.model == "dall-e-3":
            item["revised_prompt"] = f"{params.prompt} (as rendered by the simulator)"
        data.append(item)
    body: dict[str, Any] = {"created": int(time.time()), "data": data}
    if not params.token_billed:
        state.ledger.add(kind, images=len(pngs))
        return web.json_response(body)
    prompt_tokens = text_tokens(params.prompt)
    output_tokens = image_output_tokens(params.quality) * len(pngs)
    input_tokens = prompt_tokens + input_image_tokens
    body["usage"] = {
        "total_tokens": input_tokens + output_tokens,
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "input_tokens_details": {"text_tokens": prompt_tokens, "image_tokens": input_image_tokens},
    }
    state.ledger.add(
        kind,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        image_tokens=input_image_tokens + output_tokens,
        images=len(pngs),
    )
    return web.json_response(body)


async def generations(request: web.Request) -> web.Response:
    state = sim_state(request)
    body = await read_json_object(request, lambda m: openai_error(request, 400, m))
    try:
        params = check_generation(body)
    except Invalid as exc:
        raise _invalid(request, exc) from exc
    size = _output_size(state, params)
    pngs = [pics.encode_png(pics.prompt_card(params.prompt, size, salt=str(i))) for i in range(params.n)]
    return _respond(request, "image_generation", params, pngs)


# ---- edits ------------------------------------------------------------------


def _edit_params(form: Form, model: str) -> ImageParams:
    fields = form.fields
    return ImageParams(
        model=model,
        prompt=check_prompt(model, fields.get("prompt")),
        n=check_n(model, fields.get("n")),
        size=check_size(model, fields.get("size")),
        quality=check_quality(model, fields.get("quality")),
        response_format=check_response_format(model, fields.get("response_format")),
    )


def _sources(form: Form) -> list[FormFile]:
    files = [f for f in form.files if _IMAGE_FIELD.match(f.field)]
    if not files:
        if any(_IMAGE_FIELD.match(name) for name in form.fields):
            raise Invalid("Invalid 'image': expected a file upload, got a text field.", "invalid_type")
        raise Invalid("Missing required parameter: 'image'.", "missing_required_parameter")
    return files


def _check_mask(form: Form, first: Image.Image) -> None:
    mask_file = next((f for f in form.files if f.field == "mask"), None)
    if mask_file is None:
        return
    mask = pics.open_image(mask_file.data)
    if mask is None or mask.format != "PNG" or len(mask_file.data) >= DALLE2_MAX_BYTES:
        raise Invalid("Invalid mask image: it must be a PNG and less than 4 MB.", "invalid_image")
    if mask.size != first.size:
        raise Invalid("Invalid mask image: mask and image must have the same dimensions.", "invalid_image")


def _dalle2_sources(form: Form) -> list[Image.Image]:
    files = _sources(form)
    if len(files) != 1:
        raise Invalid(f"dall-e-2 edits take exactly one image, got {len(files)}.", "invalid_value")
    upload = files[0]
    img = pics.open_image(upload.data)
    if img is None or img.format != "PNG" or len(upload.data) >= DALLE2_MAX_BYTES:
        raise Invalid("Invalid input image: it must be a PNG and less than 4 MB.", "invalid_image")
    if img.width != img.height:
        raise Invalid(
            f"Invalid input image: it must be square, got {img.width}x{img.height}.", "invalid_image"
        )
    _check_mask(form, img)
    return [img]


def _gpt_image_sources(form: Form) -> list[Image.Image]:
    files = _sources(form)
    if len(files) > GPT_IMAGE_MAX_FILES:
        raise Invalid(
            f"Too many images: at most {GPT_IMAGE_MAX_FILES} are allowed, got {len(files)}.", "invalid_value"
        )
    images: list[Image.Image] = []
    for number, upload in enumerate(files, start=1):
        if len(upload.data) >= GPT_IMAGE_MAX_BYTES:
            raise Invalid(f"Invalid image {number}: each image must be smaller than 25 MB.", "invalid_image")
        img = pics.open_image(upload.data)
        if img is None or img.format not in GPT_IMAGE_FORMATS:
            raise Invalid(
                f"Invalid image file or mode for image {number}, please check your image file "
                "(PNG, WEBP or JPEG expected).",
                "invalid_image",
            )
        images.append(img)
    _check_mask(form, images[0])
    return images


async def edits(request: web.Request) -> web.Response:
    state = sim_state(request)
    form = await read_multipart(request, lambda m: openai_error(request, 400, m))
    # wenwen defaults image edits to dall-e-2 when no model is sent (5.2).
    model = form.fields.get("model") or "dall-e-2"
    try:
        if model == "dall-e-3":
            raise Invalid("Invalid model dall-e-3: edits support dall-e-2 and gpt-image-1.", "invalid_value")
        params = _edit_params(form, model)
        sources = _dalle2_sources(form) if model == "dall-e-2" else _gpt_image_sources(form)
    except Invalid as exc:
        raise _invalid(request, exc) from exc
    size = _output_size(state, params)
    pngs = [
        pics.encode_png(pics.derive(sources[i:] + sources[:i], params.prompt, size)) for i in range(params.n)
    ]
    input_image_tokens = IMAGE_TOKENS * len(sources) if params.token_billed else 0
    return _respond(request, "image_edit", params, pngs, input_image_tokens=input_image_tokens)
