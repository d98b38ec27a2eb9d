"""GET /v1/models, in new-api's OpenAI shape or Anthropic's."""

from __future__ import annotations

from aiohttp import web

CREATED = 1626777600

# (id, owned_by, supported_endpoint_types)
MODELS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("gpt-4o-mini", "openai", ("openai",)),
    ("gpt-4o", "openai", ("openai",)),
    ("gpt-4o-image", "openai", ("openai",)),
    ("gemini-2.5-flash-image-preview", "vertex-ai", ("gemini", "openai")),
    ("claude-3-5-sonnet-20241022", "anthropic", ("anthropic", "openai")),
    ("gpt-image-1", "openai", ("image-generation",)),
    ("dall-e-2", "openai", ("image-generation",)),
    ("dall-e-3", "openai", ("image-generation",)),
    ("text-embedding-3-small", "openai", ("embeddings",)),
)


async def list_models(request: web.Request) -> web.Response:
    # An Anthropic SDK (x-api-key + anthropic-version) gets Anthropic's list shape (8).
    if "x-api-key" in request.headers and "anthropic-version" in request.headers:
        data = [
            {"id": mid, "created_at": "2024-10-22T00:00:00Z", "display_name": mid, "type": "model"}
            for mid, _, _ in MODELS
        ]
        return web.json_response(
            {"data": data, "first_id": data[0]["id"], "last_id": data[-1]["id"], "has_more": False}
        )
    return web.json_response(
        {
            "success": True,
            "object": "list",
            "data": [
                {
                    "id": mid,
                    "object": "model",
                    "created": CREATED,
                    "owned_by": owner,
                    "supported_endpoint_types": list(types),
                }
                for mid, owner, types in MODELS
            ],
        }
    )
