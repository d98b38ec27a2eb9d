"""HTTP/1.1 or HTTP/2 to the gateway? 1 000 slow requests at once, through the bot's client.

The gateway is reached over HTTPS, where HTTP/2 is negotiated by ALPN; so the stand-in
here is a TLS server that speaks both (hypercorn, with a throw-away certificate from
trustme) and answers every chat request after `--delay` seconds with a short SSE stream,
like a slow model. The bot's own `GatewayClient` asks three ways: over HTTP/1.1 with
aiohttp's pool (the default) and with httpx's own (one connection per request in flight),
and over HTTP/2 (many requests per connection, httpx's transport); it prints
what the choice costs on our side: connections opened, the client's CPU time per request,
the client's memory growth, and the slowest answer past the gateway's own time.

    .venv/bin/python bench/http2.py [--requests 1000] [--delay 10]

Needs the bench extra (`pip install -e '.[bench]'`: hypercorn, trustme, h2).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import ssl
import sys
import tempfile
import time
from pathlib import Path

import trustme
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stage import process_memory_mb
from bot.gateway.client import GatewayClient, Timeouts
from bot.gateway.downloads import Downloader, DownloadPolicy
from bot.gateway.transport import gateway_client

SERVER = """
import asyncio, json, sys
from hypercorn.asyncio import serve
from hypercorn.config import Config

DELAY = float(sys.argv[4])
CONNECTIONS = set()

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["path"] == "/connections":
        body = str(len(CONNECTIONS)).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})
        return
    CONNECTIONS.add(tuple(scope["client"]))
    while (await receive()).get("more_body"):
        pass
    await asyncio.sleep(DELAY)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream")]})
    for word in ("Echo:", " slow", " answer"):
        chunk = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
                 "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
        await send({"type": "http.response.body", "body": f"data: {json.dumps(chunk)}\\n\\n".encode(),
                    "more_body": True})
    done = {"id": "c", "object": "chat.completion.chunk", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}}
    await send({"type": "http.response.body",
                "body": f"data: {json.dumps(done)}\\n\\ndata: [DONE]\\n\\n".encode()})

config = Config()
config.bind = [f"127.0.0.1:{sys.argv[1]}"]
config.certfile, config.keyfile = sys.argv[2], sys.argv[3]
config.alpn_protocols = ["h2", "http/1.1"]
config.backlog = 4096
config.h2_max_concurrent_streams = 1000
config.accesslog = None
asyncio.run(serve(app, config))
"""


AIOHTTP = "HTTP/1.1, aiohttp's pool (the default)"
HTTPX = "HTTP/1.1, httpx's own pool"
HTTP2 = "HTTP/2 (GATEWAY_HTTP2=true)"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(way: str, url: str, context: ssl.SSLContext, args: argparse.Namespace) -> dict[str, float]:
    http = gateway_client(
        max_connections=1000,
        keepalive_connections=100,
        http2=way == HTTP2,
        aiohttp=way == AIOHTTP,
        verify=context,
    )
    downloads = Downloader(DownloadPolicy.for_gateway(url), http)
    client = GatewayClient(http, url, SecretStr("bench"), Timeouts(connect=10, chat=60), downloads=downloads)
    messages = [{"role": "user", "content": "hello"}]

    async def streamed(_text: str) -> None:
        return None

    async def one() -> float:
        start = time.monotonic()
        result = await client.chat("gpt-4o-mini", messages, on_text=streamed)
        assert "slow answer" in result.text, result.text
        return time.monotonic() - start

    rss_before = process_memory_mb(os.getpid())[0]
    cpu_before = cpu_seconds()
    times = await asyncio.gather(*(one() for _ in range(args.requests)), return_exceptions=True)
    cpu = cpu_seconds() - cpu_before
    rss_after = process_memory_mb(os.getpid())[0]
    answered = [t for t in times if isinstance(t, float)]
    connections = float((await http.get(f"{url}/connections")).text)
    await downloads.aclose()
    await http.aclose()
    return {
        "answered": len(answered),
        "errors": len(times) - len(answered),
        "slowest past the gateway (s)": max(answered) - args.delay if answered else float("nan"),
        "connections opened": connections,
        "client CPU per request (ms)": cpu / args.requests * 1000,
        "client RSS growth (MB)": rss_after - rss_before,
    }


WAYS = (AIOHTTP, HTTPX, HTTP2)


async def measure(way: str, args: argparse.Namespace) -> dict[str, float]:
    """One way against a fresh TLS server, in this process (which measures nothing else)."""
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1")
    context = ssl.create_default_context()
    authority.configure_trust(context)
    with tempfile.TemporaryDirectory() as folder:
        certfile, keyfile = Path(folder) / "cert.pem", Path(folder) / "key.pem"
        cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
        cert.private_key_pem.write_to_path(str(keyfile))
        port = free_port()
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SERVER, str(port), str(certfile), str(keyfile), str(args.delay)
        )
        try:
            for _ in range(100):
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                        break
                except OSError:
                    await asyncio.sleep(0.1)
            return await run(way, f"https://127.0.0.1:{port}", context, args)
        finally:
            server.terminate()
            await server.wait()


async def main(args: argparse.Namespace) -> None:
    if args.way is not None:
        print("RESULT " + json.dumps(await measure(WAYS[args.way], args)), flush=True)
        return
    # Each way in a process of its own: memory freed by one would be reused by the next.
    results: dict[str, dict[str, float]] = {}
    for number, way in enumerate(WAYS):
        print(f"{way}: {args.requests} requests at once, the gateway answers each in {args.delay} s")
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--way",
            str(number),
            "--requests",
            str(args.requests),
            "--delay",
            str(args.delay),
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await child.communicate()
        line = next(x for x in out.decode().splitlines() if x.startswith("RESULT "))
        results[way] = json.loads(line.removeprefix("RESULT "))
        print("  " + json.dumps(results[way]))
    print(f"\n| measurement | {AIOHTTP} | {HTTPX} | {HTTP2} |\n|---|---|---|---|")
    for key in results[AIOHTTP]:
        cells = " | ".join(f"{results[way][key]:.3g}" for way in WAYS)
        print(f"| {key} | {cells} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=10.0)
    parser.add_argument("--way", type=int, choices=range(len(WAYS)), help=argparse.SUPPRESS)
    asyncio.run(main(parser.parse_args()))
