"""python -m simulator --host 127.0.0.1 --port 8787 --api-key sim-key"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal

from .server import Simulator

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--api-key", default="sim-key")
    parser.add_argument("--mj-step-seconds", type=float, default=1.0)
    parser.add_argument("--chunk-delay", type=float, default=0.01)
    parser.add_argument("--image-px", type=int, default=256)
    parser.add_argument("--max-body-mb", type=float, default=32)
    parser.add_argument("--url-ttl-seconds", type=float, default=3600)
    parser.add_argument("--log-level", default="INFO")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    sim = Simulator(
        api_key=args.api_key,
        mj_step_seconds=args.mj_step_seconds,
        chunk_delay=args.chunk_delay,
        image_px=args.image_px,
        max_body_mb=args.max_body_mb,
        url_ttl_seconds=args.url_ttl_seconds,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(sig, stop.set)
    await sim.start(args.host, args.port)
    try:
        await stop.wait()
    finally:
        await sim.stop()
        log.info("simulator stopped")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
